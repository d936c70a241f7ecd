"""ONNX Runtime sessions with pixseek's execution-provider choice and tuned session options."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from pixseek.models.graph_runner import check_io_names

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
# A provider name, or a (name, options) pair as ONNX Runtime accepts them (e.g. TensorRT's).
Provider = str | tuple[str, dict[str, object]]


def resolve_providers(choice: str) -> list[Provider]:
    """'cpu', 'cuda' (an error if this onnxruntime build lacks CUDA) or 'auto' (CUDA when present)."""
    available = ort.get_available_providers()
    if choice == "cpu":
        return [CPU]
    if choice == "cuda":
        if CUDA not in available:
            raise RuntimeError(
                "PIXSEEK_ONNX_PROVIDERS=cuda but this onnxruntime has no CUDA provider "
                f"(available: {', '.join(available)}); install onnxruntime-gpu"
            )
        return [CUDA, CPU]
    if choice == "auto":
        return [CUDA, CPU] if CUDA in available else [CPU]
    raise ValueError(f"unknown ONNX provider choice {choice!r}; expected 'auto', 'cpu' or 'cuda'")


def usable_cpu_count() -> int:
    """CPUs this process may run on (respects affinity masks and container cpusets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class OnnxGraphRunner:
    """One single-input, single-output graph. Thread-safe: ORT sessions allow concurrent `run`."""

    def __init__(
        self,
        path: Path,
        input_name: str,
        output_name: str,
        providers: Sequence[Provider],
        threads: int | None = None,
    ) -> None:
        """`threads`: intra-op threads per call (default: one per usable CPU)."""
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Parallelism inside each operator; batches already give the work, so one inter-op thread.
        options.intra_op_num_threads = threads or usable_cpu_count()
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Idle intra-op threads sleep instead of spinning: ingest runs several sessions side by side
        # (and shares the CPU with the API), where spinning threads burn the cores the others need.
        # Measured on 2 busy cores: 2 callers x 2 threads cost 140 ms CPU per image spinning off vs
        # 175 ms spinning on (MobileCLIP2-S2 image encoder).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.path = path
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=list(providers))
        self.input_name = input_name
        self.output_name = output_name
        inputs = [node.name for node in self.session.get_inputs()]
        outputs = [node.name for node in self.session.get_outputs()]
        check_io_names(path, input_name, output_name, inputs, outputs)

    def run(self, batch: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        (output,) = self.session.run([self.output_name], {self.input_name: batch})
        return np.asarray(output, dtype=np.float32)

    @property
    def providers(self) -> list[str]:
        return list(self.session.get_providers())
