"""Helpers every pixseek python-backend model uses: its files, its config, its error replies."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import triton_python_backend_utils as pb_utils


class ModelArgs:
    """The `args` Triton passes to `initialize`, read once."""

    def __init__(self, args: dict[str, str]) -> None:
        self.config: dict[str, Any] = json.loads(args["model_config"])
        self.directory = Path(args["model_repository"]) / args["model_version"]

    def parameter(self, key: str, default: str) -> str:
        value = self.config.get("parameters", {}).get(key, {}).get("string_value")
        return str(value) if value is not None else default


def input_array(request: Any, name: str) -> npt.NDArray[Any]:
    return np.asarray(pb_utils.get_input_tensor_by_name(request, name).as_numpy())


def error_response(error: Exception) -> Any:
    return pb_utils.InferenceResponse(
        output_tensors=[], error=pb_utils.TritonError(f"{type(error).__name__}: {error}")
    )
