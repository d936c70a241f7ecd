"""ResizeGeometry <-> a float64 row, so one ensemble step can tell the next where an image landed."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from pixseek.models.preprocess import ResizeGeometry

ROW_LENGTH = 6


def geometry_rows(geometries: Sequence[ResizeGeometry]) -> npt.NDArray[np.float64]:
    """(n, 6): scale_x, scale_y, pad_x, pad_y, source width, source height (float64: exact scales)."""
    return np.asarray(
        [(g.scale_x, g.scale_y, g.pad_x, g.pad_y, *g.source_size) for g in geometries], dtype=np.float64
    ).reshape(-1, ROW_LENGTH)


def geometry_from_row(row: npt.ArrayLike, canvas_size: tuple[int, int]) -> ResizeGeometry:
    scale_x, scale_y, pad_x, pad_y, width, height = (float(v) for v in np.asarray(row).reshape(ROW_LENGTH))
    return ResizeGeometry(
        source_size=(int(width), int(height)),
        canvas_size=canvas_size,
        scale_x=scale_x,
        scale_y=scale_y,
        pad_x=pad_x,
        pad_y=pad_y,
    )
