"""The one operation the production pack needs from an inference engine: run a graph on a batch.

Two engines run the pack's ONNX files in-process: ONNX Runtime (`onnx_session`, CPU or CUDA) and
OpenVINO (`openvino_session`, CPU; bf16 on processors with AMX or AVX-512 BF16).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

Engine = Literal["onnxruntime", "openvino"]


class GraphRunner(Protocol):
    """One single-input, single-output graph; `run` may be called from several threads at once."""

    path: Path

    def run(self, batch: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]: ...

    @property
    def providers(self) -> list[str]:
        """What executes the graph, for `PackInfo` and logs (e.g. 'CPUExecutionProvider')."""
        ...


def check_io_names(path: Path, input_name: str, output_name: str, inputs: Sequence[str],
                   outputs: Sequence[str]) -> None:  # fmt: skip
    """A clear error when the manifest names tensors the graph does not have."""
    if input_name not in inputs or output_name not in outputs:
        raise ValueError(
            f"{path}: manifest names input {input_name!r} and output {output_name!r}, "
            f"the graph has inputs {list(inputs)} and outputs {list(outputs)}"
        )
