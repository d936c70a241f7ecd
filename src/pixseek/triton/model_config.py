"""Triton `config.pbtxt` text for each model of pixseek's repository (protobuf text format)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["KIND_CPU", "KIND_GPU"]


@dataclass(frozen=True)
class TensorSpec:
    name: str
    data_type: str  # Triton's TYPE_FP32, TYPE_INT64, TYPE_STRING, ...
    dims: Sequence[int]  # without the batch dimension


@dataclass(frozen=True)
class Batching:
    max_batch_size: int
    preferred: Sequence[int] = ()
    max_queue_delay_us: int = 2000


@dataclass(frozen=True)
class ModelConfig:
    name: str
    inputs: Sequence[TensorSpec]
    outputs: Sequence[TensorSpec]
    batching: Batching
    backend: str | None = None  # "python"
    platform: str | None = None  # "onnxruntime_onnx", "tensorrt_plan", "ensemble"
    kind: Kind = "KIND_CPU"
    instances: int = 1
    parameters: Mapping[str, str] = field(default_factory=dict)
    extra: str = ""  # further top-level text, e.g. ensemble_scheduling or optimization

    def render(self) -> str:
        lines = [f"name: {_quote(self.name)}"]
        if self.backend:
            lines.append(f"backend: {_quote(self.backend)}")
        if self.platform:
            lines.append(f"platform: {_quote(self.platform)}")
        lines.append(f"max_batch_size: {self.batching.max_batch_size}")
        lines.append(_tensors("input", self.inputs))
        lines.append(_tensors("output", self.outputs))
        if self.platform != "ensemble":
            lines.append(self._dynamic_batching())
            lines.append(f"instance_group [ {{ count: {self.instances} kind: {self.kind} }} ]")
        lines.extend(
            f"parameters: {{ key: {_quote(key)} value: {{ string_value: {_quote(value)} }} }}"
            for key, value in self.parameters.items()
        )
        if self.extra:
            lines.append(self.extra)
        return "\n".join(lines) + "\n"

    def _dynamic_batching(self) -> str:
        preferred = [size for size in self.batching.preferred if size <= self.batching.max_batch_size]
        body = [f"  max_queue_delay_microseconds: {self.batching.max_queue_delay_us}"]
        if preferred:
            body.insert(0, f"  preferred_batch_size: [ {', '.join(map(str, preferred))} ]")
        return "dynamic_batching {\n" + "\n".join(body) + "\n}"


@dataclass(frozen=True)
class EnsembleStep:
    model_name: str
    input_map: Mapping[str, str]  # the step model's input name -> ensemble tensor name
    output_map: Mapping[str, str]  # the step model's output name -> ensemble tensor name

    def render(self) -> str:
        maps = [
            *(
                f"      input_map {{ key: {_quote(k)} value: {_quote(v)} }}"
                for k, v in self.input_map.items()
            ),
            *(
                f"      output_map {{ key: {_quote(k)} value: {_quote(v)} }}"
                for k, v in self.output_map.items()
            ),
        ]
        return (
            f"    {{\n      model_name: {_quote(self.model_name)}\n      model_version: -1\n"
            + "\n".join(maps)
            + "\n    }"
        )


def ensemble_scheduling(steps: Sequence[EnsembleStep]) -> str:
    return "ensemble_scheduling {\n  step [\n" + ",\n".join(s.render() for s in steps) + "\n  ]\n}"


def _tensors(section: str, tensors: Sequence[TensorSpec]) -> str:
    rendered = [
        f"  {{ name: {_quote(t.name)} data_type: {t.data_type} dims: [ {', '.join(map(str, t.dims))} ] }}"
        for t in tensors
    ]
    return f"{section} [\n" + ",\n".join(rendered) + "\n]"


def _quote(text: str) -> str:
    # JSON string escaping is valid protobuf text-format escaping for the characters we emit.
    return json.dumps(text)
