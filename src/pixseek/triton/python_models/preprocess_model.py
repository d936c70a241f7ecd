"""Ensemble step 1: encoded image bytes -> detector input, whole-image embedder input, letterbox rows.

Decodes exactly as ingest does (`decode_image`: EXIF orientation, pixel limit), so a client that
sends lossless bytes of its decoded image gets the same numbers as in-process inference.
"""

from __future__ import annotations

from typing import Any

import triton_python_backend_utils as pb_utils

from pixseek.ingest.decode import decode_image
from pixseek.models.model_inputs import detector_input, embedder_input
from pixseek.triton.letterbox_tensor import geometry_rows
from pixseek.triton.names import DETECTOR_INPUT, EMBEDDER_INPUT, ENCODED_IMAGES, LETTERBOX
from pixseek.triton.python_models.common import ModelArgs, error_response, input_array
from pixseek.triton.python_models.pack_models import pack_manifests


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        model = ModelArgs(args)
        _, self.embedder, self.detector = pack_manifests(model.directory)
        self.max_pixels = int(model.parameter("max_image_pixels", "64000000"))

    def execute(self, requests: list[Any]) -> list[Any]:
        return [self._one(request) for request in requests]

    def _one(self, request: Any) -> Any:
        try:
            encoded = input_array(request, ENCODED_IMAGES).reshape(-1)
            images = [decode_image(bytes(item), self.max_pixels).rgb for item in encoded]
            detector_batch, geometries = detector_input(images, self.detector.input)
            tensors = [
                pb_utils.Tensor(DETECTOR_INPUT, detector_batch),
                pb_utils.Tensor(EMBEDDER_INPUT, embedder_input(images, self.embedder.image)),
                pb_utils.Tensor(LETTERBOX, geometry_rows(geometries)),
            ]
            return pb_utils.InferenceResponse(output_tensors=tensors)
        except Exception as error:  # a bad image fails its own request only
            return error_response(error)
