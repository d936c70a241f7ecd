"""The ModelPack served by Triton (gRPC): `PIXSEEK_INFERENCE=triton`, `PIXSEEK_TRITON_URL`.

The local pack directory (`PIXSEEK_MODELS`) still supplies the manifests and the tokenizer; the
server's ensemble names the pack it serves, and a different one is refused at load. Images go to
the ensemble as lossless PNG so the server decodes exactly the pixels the caller holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

from pixseek.config import Settings
from pixseek.errors import BackendUnavailable
from pixseek.models.clip_tokenizer import ClipTokenizer
from pixseek.models.model_inputs import embedder_input
from pixseek.models.onnx_pack import pack_info, tokenizer_for
from pixseek.models.pack_manifest import ModelPackFiles
from pixseek.models.types import Analysis, Box, Detection, RGBImage, Vectors, l2_normalize
from pixseek.triton import names

# Fastest zlib level: the bytes cross loopback or a LAN, encode time matters more than size.
_PNG_FLAGS = [cv2.IMWRITE_PNG_COMPRESSION, 1]


class TritonPackMismatch(RuntimeError):
    """The server's ensemble serves another pack than the local manifests describe."""


class TritonModels:
    """A gRPC client plus the largest batch each model accepts."""

    def __init__(self, url: str, timeout_s: float = 120.0) -> None:
        self.client = grpcclient.InferenceServerClient(url=url)
        try:
            ready = self.client.is_server_ready()
        except InferenceServerException as exc:
            ready, reason = False, str(exc)
        else:
            reason = "the server is up but its models are not ready"
        if not ready:
            raise BackendUnavailable(
                f"Triton at {url} is not ready ({reason}); check PIXSEEK_TRITON_URL and the server's log"
            )
        self.url = url
        self.timeout_s = timeout_s
        self._max_batch: dict[str, int] = {}

    def max_batch(self, model: str) -> int:
        if model not in self._max_batch:
            config = self.client.get_model_config(model, as_json=True)["config"]
            self._max_batch[model] = max(1, int(config.get("max_batch_size", 1)))
        return self._max_batch[model]

    def served_model_id(self) -> str | None:
        config = self.client.get_model_config(names.ENSEMBLE, as_json=True)["config"]
        return config.get("parameters", {}).get(names.PACK_MODEL_ID, {}).get("string_value")

    def infer(
        self, model: str, inputs: Sequence[tuple[str, npt.NDArray[np.generic], str]], outputs: Sequence[str]
    ) -> dict[str, npt.NDArray[np.generic]]:
        tensors = []
        for name, array, datatype in inputs:
            tensor = grpcclient.InferInput(name, list(array.shape), datatype)
            tensor.set_data_from_numpy(array)
            tensors.append(tensor)
        requested = [grpcclient.InferRequestedOutput(name) for name in outputs]
        result = self.client.infer(model, tensors, outputs=requested, client_timeout=self.timeout_s)
        return {name: np.asarray(result.as_numpy(name)) for name in outputs}

    def run_chunked(
        self, model: str, input_name: str, batch: npt.NDArray[np.generic], datatype: str, output: str
    ) -> npt.NDArray[np.float32]:
        size = self.max_batch(model)
        parts = [
            self.infer(model, [(input_name, batch[start : start + size], datatype)], [output])[output]
            for start in range(0, len(batch), size)
        ]
        return np.concatenate(parts).astype(np.float32, copy=False)


class TritonImageEmbedder:
    def __init__(self, models: TritonModels, files: ModelPackFiles) -> None:
        self.models = models
        self.spec = files.embedder.image
        self.graph = files.embedder.image_encoder
        self.dim = files.embedder.dim

    def embed_images(self, images: Sequence[RGBImage]) -> Vectors:
        if not images:
            return np.empty((0, self.dim), dtype=np.float32)
        batch = embedder_input(images, self.spec)
        return l2_normalize(
            self.models.run_chunked(names.IMAGE_ENCODER, self.graph.input, batch, "FP32", self.graph.output)
        )


class TritonTextEmbedder:
    def __init__(self, models: TritonModels, files: ModelPackFiles, tokenizer: ClipTokenizer) -> None:
        self.models = models
        self.tokenizer = tokenizer
        self.graph = files.embedder.text_encoder
        self.dim = files.embedder.dim

    def embed_texts(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        tokens = self.tokenizer(texts)
        return l2_normalize(
            self.models.run_chunked(names.TEXT_ENCODER, self.graph.input, tokens, "INT64", self.graph.output)
        )


class TritonAnalyzer:
    """Detect + embed images and objects in one ensemble call per batch of images."""

    def __init__(
        self, models: TritonModels, files: ModelPackFiles, *, min_confidence: float, max_objects: int
    ):
        self.models = models
        self.class_names = files.detector.class_names
        self.dim = files.embedder.dim
        self.min_confidence = min_confidence
        self.max_objects = max_objects

    def analyze(self, images: Sequence[RGBImage]) -> list[Analysis]:
        size = self.models.max_batch(names.ENSEMBLE)
        return [
            analysis
            for start in range(0, len(images), size)
            for analysis in self._analyze_batch(images[start : start + size])
        ]

    def _analyze_batch(self, images: Sequence[RGBImage]) -> list[Analysis]:
        if not images:
            return []
        rows = len(images)
        encoded = np.array([[png_bytes(image)] for image in images], dtype=np.object_)
        outputs = self.models.infer(
            names.ENSEMBLE,
            [
                (names.ENCODED_IMAGES, encoded, "BYTES"),
                (names.MIN_CONFIDENCE, np.full((rows, 1), self.min_confidence, dtype=np.float32), "FP32"),
                (names.MAX_OBJECTS, np.full((rows, 1), self.max_objects, dtype=np.int32), "INT32"),
            ],
            [
                names.NUM_DETS,
                names.DET_BOXES,
                names.DET_SCORES,
                names.DET_CLASSES,
                names.GLOBAL_EMBEDDINGS,
                names.BOX_EMBEDDINGS,
            ],
        )
        return [self._analysis(outputs, row) for row in range(rows)]

    def _analysis(self, outputs: dict[str, npt.NDArray[np.generic]], row: int) -> Analysis:
        count = int(outputs[names.NUM_DETS][row, 0])
        boxes = outputs[names.DET_BOXES][row, :count]
        scores = outputs[names.DET_SCORES][row, :count]
        classes = outputs[names.DET_CLASSES][row, :count]
        detections = [
            Detection(int(c), self.class_names[int(c)], float(s), Box(*(float(v) for v in box)))
            for box, s, c in zip(boxes, scores, classes, strict=True)
        ]
        image_vector = l2_normalize(outputs[names.GLOBAL_EMBEDDINGS][row : row + 1].astype(np.float32))[0]
        object_vectors = l2_normalize(
            outputs[names.BOX_EMBEDDINGS][row, :count].reshape(count, self.dim).astype(np.float32)
        )
        return Analysis(detections, image_vector, object_vectors)


class TritonDetector:
    """Detections only; served by the ensemble (which also embeds: use the analyzer when you can)."""

    def __init__(self, analyzer: TritonAnalyzer) -> None:
        self.analyzer = analyzer

    def detect(self, images: Sequence[RGBImage]) -> list[list[Detection]]:
        return [analysis.detections for analysis in self.analyzer.analyze(images)]


def png_bytes(image: RGBImage) -> bytes:
    ok, encoded = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), _PNG_FLAGS)
    if not ok:
        raise ValueError("could not encode the image as PNG")
    return encoded.tobytes()


class TritonModelPack:
    def __init__(self, files: ModelPackFiles, settings: Settings, timeout_s: float = 120.0) -> None:
        self.models = TritonModels(settings.triton_url, timeout_s)
        served = self.models.served_model_id()
        if served != files.model_id:
            raise TritonPackMismatch(
                f"Triton at {settings.triton_url} serves {served!r}, the local pack is {files.model_id!r}"
            )
        self.files = files
        self.image_embedder = TritonImageEmbedder(self.models, files)
        self.text_embedder = TritonTextEmbedder(self.models, files, tokenizer_for(files))
        self.analyzer = TritonAnalyzer(
            self.models,
            files,
            min_confidence=settings.min_detection_confidence,
            max_objects=settings.max_objects_per_image,
        )
        self.detector = TritonDetector(self.analyzer)
        self.info = pack_info(files, inference="triton", triton_url=settings.triton_url)

    def warmup(self) -> None:
        self.analyzer.analyze([np.full((64, 96, 3), 127, dtype=np.uint8)])
        self.text_embedder.embed_texts(["warm up"])


def load_triton_pack(settings: Settings) -> TritonModelPack:
    """The pack directory in `settings.models`, served by the Triton server at `settings.triton_url`."""
    return TritonModelPack(ModelPackFiles(Path(settings.models)), settings)
