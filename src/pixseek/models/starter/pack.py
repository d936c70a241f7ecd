"""The starter ModelPack: everything runs offline on CPU from pip-installable wheels, without torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from pixseek.models.coco import COCO_CLASSES
from pixseek.models.compose import ComposedAnalyzer
from pixseek.models.protocols import PackInfo
from pixseek.models.starter.classifier import CLASSIFIER_ID, EfficientNetLiteClassifier, labels_path
from pixseek.models.starter.conse import ConseImageEmbedder
from pixseek.models.starter.detector import DETECTOR_ID, SsdMobileNetDetector
from pixseek.models.starter.minilm import TEXT_EMBEDDER_ID, MiniLmEmbedder
from pixseek.models.starter.ssd_openvino import choose_detector_engine

PACK_ID = "starter-v1"
LICENCE = (
    "SSD-MobileNet-v2 COCO (TensorFlow detection model zoo): Apache-2.0; "
    "EfficientNet-Lite3 (tensorflow/tpu): Apache-2.0; "
    "all-MiniLM-L6-v2 (sentence-transformers): Apache-2.0"
)


class StarterPack:
    """ModelPack of SSD-MobileNet-v2 boxes, ConSE image vectors and MiniLM text vectors (dim 384).

    Construction only checks the model files; each model loads on first use, or all in `warmup()`.
    """

    def __init__(self, cache_dir: Path, min_confidence: float = 0.3, max_objects: int = 50,
                 detector_engine: str = "auto") -> None:  # fmt: skip
        """`detector_engine`: 'auto', 'opencv' or 'openvino' (`ssd_openvino.choose_detector_engine`)."""
        self.detector = SsdMobileNetDetector(
            min_confidence=min_confidence,
            max_detections=max_objects,
            engine=choose_detector_engine(detector_engine),
            cache_dir=cache_dir,
        )
        self.classifier = EfficientNetLiteClassifier()
        self.text_embedder = MiniLmEmbedder()
        self.image_embedder = ConseImageEmbedder(
            self.classifier,
            self.text_embedder,
            labels_file=labels_path(),
            embedder_id=TEXT_EMBEDDER_ID,
            cache_dir=cache_dir,
        )
        self.analyzer = ComposedAnalyzer(
            self.detector, self.image_embedder, max_objects=max_objects, min_confidence=min_confidence
        )
        embedder_id = f"conse-top{self.image_embedder.top_k}-{CLASSIFIER_ID}+{TEXT_EMBEDDER_ID}"
        self.info = PackInfo(
            model_id=f"{PACK_ID}:{DETECTOR_ID}+{embedder_id}",
            dim=self.text_embedder.dim,
            detector_id=DETECTOR_ID,
            embedder_id=embedder_id,
            licence=LICENCE,
            class_names=COCO_CLASSES,
            extra={"detector_engine": self.detector.engine},
        )

    def warmup(self) -> None:
        """Load every model and run each once (the first run also builds or reads the class cache)."""
        image = np.full((64, 64, 3), 127, dtype=np.uint8)
        self.analyzer.analyze([image])
        self.text_embedder.embed_texts(["warm up"])
