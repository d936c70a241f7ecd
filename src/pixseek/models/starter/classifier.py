"""ImageNet classification with the int8 EfficientNet-Lite3 TFLite model, run by LiteRT."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
from ai_edge_litert.interpreter import Interpreter

from pixseek.models.preprocess import resize_center_crop
from pixseek.models.starter.assets import DETECT_MODELS
from pixseek.models.starter.pool import InstancePool
from pixseek.models.types import RGBImage

CLASSIFIER_ID = "efficientnet-lite3-int8"
_MODEL_FILE = "efficientnet_lite3.tflite"
LABELS_FILE = "efficientnet_labels.txt"
# EfficientNet's evaluation crop: the centre size/(size + 32) of the shorter side.
_CROP_PADDING = 32


def labels_path() -> Path:
    return DETECT_MODELS.file(LABELS_FILE)


# One thread per interpreter: parallelism comes from several interpreters serving concurrent callers
# (ingest workers). Measured on 2 cores: 2 threads cost ~20% more CPU per image than 1 (18 vs 23 ms).
DEFAULT_NUM_THREADS = 1


class EfficientNetLiteClassifier:
    """ImageNet-1k probabilities for RGB uint8 images; interpreters are loaded on first use.

    Thread-safe: a LiteRT interpreter's tensors are shared state, so each concurrent caller gets
    an interpreter of its own from a pool (one per core at most).
    """

    def __init__(self, num_threads: int = DEFAULT_NUM_THREADS, pool_size: int | None = None) -> None:
        self._model = DETECT_MODELS.file(_MODEL_FILE)
        self.labels: tuple[str, ...] = tuple(labels_path().read_text(encoding="utf-8").splitlines())
        self._num_threads = num_threads
        self._interpreters: InstancePool[Interpreter] = InstancePool(self._load_interpreter, pool_size)

    def load(self) -> None:
        with self._interpreters.lease():
            pass

    def classify(self, images: Sequence[RGBImage]) -> npt.NDArray[np.float32]:
        """Probabilities (n, 1000), each row summing to 1."""
        probabilities = np.zeros((len(images), len(self.labels)), dtype=np.float32)
        with self._interpreters.lease() as interpreter:
            (inp,) = interpreter.get_input_details()
            (out,) = interpreter.get_output_details()
            size = int(inp["shape"][1])
            scale, zero_point = out["quantization"]
            for row, image in enumerate(images):
                # The quantized model takes raw 0..255 pixels: its input quantization does the scaling.
                crop = resize_center_crop(image, size, crop_fraction=size / (size + _CROP_PADDING))
                interpreter.set_tensor(inp["index"], crop[np.newaxis])
                interpreter.invoke()
                quantized = interpreter.get_tensor(out["index"])[0]
                probabilities[row] = (quantized.astype(np.float32) - zero_point) * scale
        # The output is already a softmax, but 8-bit rounding leaves rows summing to about 0.95.
        probabilities /= np.maximum(probabilities.sum(axis=1, keepdims=True), 1e-12)
        return probabilities

    def _load_interpreter(self) -> Interpreter:
        interpreter = Interpreter(model_path=str(self._model), num_threads=self._num_threads)
        interpreter.allocate_tensors()
        outputs = interpreter.get_output_details()[0]["shape"][-1]
        if outputs != len(self.labels):
            raise ValueError(f"{self._model.name} has {outputs} outputs but {len(self.labels)} labels")
        return interpreter
