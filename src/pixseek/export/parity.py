"""Checking an exported ONNX graph against the PyTorch model it came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

# The bar an export must clear on random inputs, per output row (cosine similarity).
MIN_COSINE = 0.999


class ParityError(RuntimeError):
    """The ONNX graph's outputs differ from PyTorch's beyond MIN_COSINE."""


def run_onnx(path: Path, input_name: str, batch: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (output,) = session.run(None, {input_name: batch})
    return np.asarray(output, dtype=np.float32)


def row_cosines(reference: npt.ArrayLike, candidate: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Cosine similarity of each pair of rows, after flattening everything but the first axis."""
    a = np.asarray(reference, dtype=np.float64).reshape(np.shape(reference)[0], -1)
    b = np.asarray(candidate, dtype=np.float64).reshape(np.shape(candidate)[0], -1)
    if a.shape != b.shape:
        raise ParityError(f"output shapes differ: torch {a.shape}, onnx {b.shape}")
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.asarray((a * b).sum(axis=1) / np.maximum(norms, 1e-30))


def check_parity(what: str, reference: npt.ArrayLike, candidate: npt.ArrayLike) -> float:
    """The lowest row cosine; ParityError if it is below MIN_COSINE."""
    worst = float(row_cosines(reference, candidate).min())
    if not worst >= MIN_COSINE:  # also catches NaN
        raise ParityError(f"{what}: ONNX vs PyTorch cosine {worst:.6f} < {MIN_COSINE}")
    return worst
