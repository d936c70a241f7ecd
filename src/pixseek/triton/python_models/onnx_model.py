"""Triton python model running one ONNX graph in ONNX Runtime (for servers without its backend).

Every request of a dynamic batch is concatenated into one ONNX Runtime run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import triton_python_backend_utils as pb_utils

from pixseek.models.onnx_session import OnnxGraphRunner, resolve_providers
from pixseek.triton.python_models.common import ModelArgs, error_response, input_array

GRAPH_FILE = "model.onnx"


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        model = ModelArgs(args)
        self.input_name = model.config["input"][0]["name"]
        self.output_name = model.config["output"][0]["name"]
        providers = resolve_providers(model.parameter("onnx_providers", "auto"))
        self.graph = OnnxGraphRunner(
            model.directory / GRAPH_FILE, self.input_name, self.output_name, providers
        )

    def execute(self, requests: list[Any]) -> list[Any]:
        try:
            batches = [input_array(request, self.input_name) for request in requests]
            outputs = self.graph.run(np.concatenate(batches))
        except Exception as error:  # one bad batch must not take the model down
            return [error_response(error) for _ in requests]
        responses, start = [], 0
        for batch in batches:
            end = start + len(batch)
            tensor = pb_utils.Tensor(self.output_name, np.ascontiguousarray(outputs[start:end]))
            responses.append(pb_utils.InferenceResponse(output_tensors=[tensor]))
            start = end
        return responses
