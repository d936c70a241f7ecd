"""Ensemble step 4: raw detector output -> kept boxes in image pixels, and an embedding per box.

Decodes each image again (images of different sizes cannot travel batched between steps), picks
detections with the same code as in-process inference, crops them with the pack's context pad and
embeds all crops of the dynamic batch through the `image_encoder` model (BLS), chunked to its
largest batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import triton_python_backend_utils as pb_utils

from pixseek.ingest.decode import decode_image
from pixseek.models.model_inputs import embedder_input
from pixseek.models.preprocess import crop_with_context
from pixseek.models.types import Detection, RGBImage
from pixseek.models.yolo_postprocess import decode_batch
from pixseek.triton.letterbox_tensor import geometry_from_row
from pixseek.triton.names import (
    BOX_EMBEDDINGS,
    DET_BOXES,
    DET_CLASSES,
    DET_SCORES,
    ENCODED_IMAGES,
    IMAGE_ENCODER,
    LETTERBOX,
    MAX_OBJECTS,
    MIN_CONFIDENCE,
    NUM_DETS,
    RAW_DETECTIONS,
)
from pixseek.triton.python_models.common import ModelArgs, error_response, input_array
from pixseek.triton.python_models.pack_models import pack_manifests


@dataclass
class _RequestDetections:
    per_image: list[list[Detection]]
    crops: list[RGBImage]


class TritonPythonModel:
    def initialize(self, args: dict[str, str]) -> None:
        model = ModelArgs(args)
        pack, self.embedder, self.detector = pack_manifests(model.directory)
        self.context_pad = pack.object_context_pad
        self.max_pixels = int(model.parameter("max_image_pixels", "64000000"))
        self.encoder_max_batch = int(model.parameter("image_encoder_max_batch", "64"))
        self.canvas = (self.detector.input.width, self.detector.input.height)
        # The image_encoder model's tensors carry the graph's own names (repository.py).
        self.encoder_input = self.embedder.image_encoder.input
        self.encoder_output = self.embedder.image_encoder.output

    def execute(self, requests: list[Any]) -> list[Any]:
        found: list[_RequestDetections | Exception] = []
        for request in requests:
            try:
                found.append(self._detect(request))
            except Exception as error:  # a bad image fails its own request only
                found.append(error)
        crops = [crop for item in found if not isinstance(item, Exception) for crop in item.crops]
        try:
            vectors = self._embed(crops)
        except Exception as error:
            return [error_response(error) for _ in requests]
        responses, start = [], 0
        for item in found:
            if isinstance(item, Exception):
                responses.append(error_response(item))
                continue
            end = start + len(item.crops)
            responses.append(self._response(item.per_image, vectors[start:end]))
            start = end
        return responses

    def _detect(self, request: Any) -> _RequestDetections:
        encoded = input_array(request, ENCODED_IMAGES).reshape(-1)
        raw = input_array(request, RAW_DETECTIONS)
        letterbox = input_array(request, LETTERBOX)
        min_confidence = input_array(request, MIN_CONFIDENCE).reshape(-1)
        max_objects = input_array(request, MAX_OBJECTS).reshape(-1)
        per_image: list[list[Detection]] = []
        crops: list[RGBImage] = []
        for index, data in enumerate(encoded):
            image = decode_image(bytes(data), self.max_pixels).rgb
            (detections,) = decode_batch(
                raw[index : index + 1],
                [geometry_from_row(letterbox[index], self.canvas)],
                self.detector,
                min_confidence=float(min_confidence[index]),
                max_detections=int(max_objects[index]),
            )
            per_image.append(detections)
            crops.extend(crop_with_context(image, d.box, self.context_pad) for d in detections)
        return _RequestDetections(per_image, crops)

    def _embed(self, crops: list[RGBImage]) -> npt.NDArray[np.float32]:
        chunks = [np.empty((0, self.embedder.dim), dtype=np.float32)]
        for start in range(0, len(crops), self.encoder_max_batch):
            batch = embedder_input(crops[start : start + self.encoder_max_batch], self.embedder.image)
            request = pb_utils.InferenceRequest(
                model_name=IMAGE_ENCODER,
                requested_output_names=[self.encoder_output],
                inputs=[pb_utils.Tensor(self.encoder_input, batch)],
            )
            response = request.exec()
            if response.has_error():
                raise RuntimeError(f"{IMAGE_ENCODER}: {response.error().message()}")
            output = pb_utils.get_output_tensor_by_name(response, self.encoder_output)
            chunks.append(np.asarray(output.as_numpy(), dtype=np.float32))
        return np.concatenate(chunks)

    def _response(self, per_image: list[list[Detection]], vectors: npt.NDArray[np.float32]) -> Any:
        """Outputs padded to the most detections of any image in this request; num_dets says how many."""
        rows, most = len(per_image), max((len(d) for d in per_image), default=0)
        counts = np.zeros((rows, 1), dtype=np.int32)
        boxes = np.zeros((rows, most, 4), dtype=np.float32)
        scores = np.zeros((rows, most), dtype=np.float32)
        classes = np.zeros((rows, most), dtype=np.int32)
        embeddings = np.zeros((rows, most, self.embedder.dim), dtype=np.float32)
        start = 0
        for row, detections in enumerate(per_image):
            count = len(detections)
            counts[row, 0] = count
            for column, detection in enumerate(detections):
                box = detection.box
                boxes[row, column] = (box.x1, box.y1, box.x2, box.y2)
                scores[row, column] = detection.confidence
                classes[row, column] = detection.class_id
            embeddings[row, :count] = vectors[start : start + count]
            start += count
        tensors = [
            pb_utils.Tensor(NUM_DETS, counts),
            pb_utils.Tensor(DET_BOXES, boxes),
            pb_utils.Tensor(DET_SCORES, scores),
            pb_utils.Tensor(DET_CLASSES, classes),
            pb_utils.Tensor(BOX_EMBEDDINGS, embeddings),
        ]
        return pb_utils.InferenceResponse(output_tensors=tensors)
