"""OpenVINO runs of the pack's ONNX graphs on the CPU: bf16 where the processor has it (AMX).

On a 2-core Xeon with AMX the MobileCLIP2-S2 + YOLO11s ingest pipeline runs at 5.8-6.1 images/s
against 2.3-2.5 on ONNX Runtime (fp32), image vectors at cosine 0.99999 to fp32, and the text encoder
in 18.5 ms against 42.1 (docs/BENCHMARKS.md). `openvino` is an optional dependency.
"""

from __future__ import annotations

import importlib.util
import queue
import sys
import threading
from functools import cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from pixseek.models.graph_runner import check_io_names
from pixseek.models.onnx_session import usable_cpu_count

Precision = Literal["auto", "bf16", "f32"]
MISSING = "the OpenVINO engine needs the openvino package: pip install 'pixseek[openvino]'"


def without_telemetry() -> None:
    """Keep OpenVINO offline: importing it imports its model converter, which reports usage over the
    network (from a forked process) unless a consent file in the user's home says no. With its
    telemetry client unimportable the converter falls back to its own no-op stub. Call it before the
    first `import openvino`; a client that is already imported is left alone."""
    sys.modules.setdefault("openvino_telemetry", None)  # type: ignore[arg-type]


@cache
def core() -> Any:
    """OpenVINO's runtime core; RuntimeError with the install command when it is missing."""
    without_telemetry()
    try:
        import openvino
    except ImportError as error:
        raise RuntimeError(MISSING) from error
    # OpenVINO's bindings set up their numpy interop on first use, and two threads doing so at once
    # can deadlock (pybind11's call-once; seen as an ingest hanging in two `infer` calls, a few
    # percent of fresh processes). Done here, it happens once, before any runner exists.
    _ = openvino.Tensor(np.zeros(1, dtype=np.float32)).data
    return openvino.Core()


def openvino_findable() -> bool:
    """Whether openvino is installed, without importing it (the import takes ~0.5 s)."""
    if "openvino" in sys.modules:
        return sys.modules["openvino"] is not None
    return importlib.util.find_spec("openvino") is not None


def openvino_installed() -> bool:
    try:
        core()
    except RuntimeError:
        return False
    return True


@cache
def cpu_has_bf16() -> bool:
    """Whether OpenVINO can compute in bf16 on this CPU (AMX or AVX-512 BF16)."""
    return "BF16" in core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


class OpenVinoGraphRunner:
    """One single-input, single-output graph compiled for the CPU.

    `threads` per call as with ONNX Runtime: with fewer threads than CPUs the graph gets one
    execution stream per `threads` CPUs, so that concurrent callers (the ingest shards) run side by
    side. A call borrows an infer request (they are not thread-safe) from a pool of at most two
    per stream, so many API threads do not each hold a request's buffers.
    """

    def __init__(self, path: Path, input_name: str, output_name: str, threads: int | None = None,
                 precision: Precision = "auto", compiled_cache: Path | None = None) -> None:  # fmt: skip
        """`precision` 'auto': bf16 where the CPU has it, else f32. `compiled_cache`: a folder where
        OpenVINO keeps the compiled graph, so that the next process loads it in a fraction of the time."""
        cpus = usable_cpu_count()
        per_call = max(1, min(threads or cpus, cpus))
        streams = max(1, cpus // per_call)
        self.precision = ("bf16" if cpu_has_bf16() else "f32") if precision == "auto" else precision
        self.path = path
        self.model = core().compile_model(
            str(path),
            "CPU",
            {
                "NUM_STREAMS": streams,
                "INFERENCE_NUM_THREADS": streams * per_call,
                "INFERENCE_PRECISION_HINT": self.precision,
                # Unpinned: the stream threads share the cores with decode threads and the API;
                # pinned, the ingest pipeline ran 1.11x the naive loop instead of 1.62x (2 cores).
                "ENABLE_CPU_PINNING": False,
                **({"CACHE_DIR": str(compiled_cache)} if compiled_cache is not None else {}),
            },
        )
        inputs = [name for port in self.model.inputs for name in port.get_names()]
        outputs = [name for port in self.model.outputs for name in port.get_names()]
        check_io_names(path, input_name, output_name, inputs, outputs)
        self.input_name = input_name
        self.output_port = self.model.output(output_name)
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._created, self._limit = 0, 2 * streams
        self._lock = threading.Lock()

    def run(self, batch: npt.NDArray[np.generic]) -> npt.NDArray[np.float32]:
        request = self._borrow()
        try:
            results = request.infer({self.input_name: batch})
            # The request reuses its output buffer on the next call: copy out.
            return np.array(results[self.output_port], dtype=np.float32, copy=True)
        finally:
            self._idle.put(request)

    def _borrow(self) -> Any:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        with self._lock:
            if self._created < self._limit:
                self._created += 1
                return self.model.create_infer_request()
        return self._idle.get()  # every request is busy: wait for one

    @property
    def providers(self) -> list[str]:
        return [f"OpenVINO CPU {self.precision}"]
