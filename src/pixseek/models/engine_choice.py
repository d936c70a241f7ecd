"""Which engine runs an exported pack's graphs in-process, and opening a graph with it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pixseek.models.graph_runner import Engine, GraphRunner
from pixseek.models.onnx_session import CPU, OnnxGraphRunner, Provider
from pixseek.models.openvino_session import OpenVinoGraphRunner, cpu_has_bf16, openvino_installed


def _provider_name(provider: Provider) -> str:
    return provider if isinstance(provider, str) else provider[0]


def choose_engine(setting: str, providers: Sequence[Provider]) -> Engine:
    """`setting` is 'auto', 'onnxruntime' or 'openvino'; `providers` are ONNX Runtime's for the pack.

    'auto' takes OpenVINO only where it pays: installed, CPU inference (no CUDA provider chosen) and
    a processor with bf16 arithmetic; elsewhere ONNX Runtime.
    """
    if setting == "onnxruntime":
        return "onnxruntime"
    on_cpu = all(_provider_name(p) == CPU for p in providers)
    if setting == "openvino":
        if not on_cpu:
            raise ValueError("PIXSEEK_ONNX_ENGINE=openvino runs on the CPU; set PIXSEEK_ONNX_PROVIDERS=cpu")
        return "openvino"
    if setting != "auto":
        raise ValueError(f"unknown ONNX engine {setting!r}; expected 'auto', 'onnxruntime' or 'openvino'")
    return "openvino" if on_cpu and openvino_installed() and cpu_has_bf16() else "onnxruntime"


def open_graph(engine: Engine, path: Path, input_name: str, output_name: str,
               providers: Sequence[Provider], threads: int | None) -> GraphRunner:  # fmt: skip
    if engine == "openvino":
        return OpenVinoGraphRunner(path, input_name, output_name, threads=threads)
    return OnnxGraphRunner(path, input_name, output_name, providers, threads=threads)
