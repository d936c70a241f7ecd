"""Model and tensor names of pixseek's Triton repository, shared by the generator and the clients."""

from __future__ import annotations

ENSEMBLE = "yolo_mobileclip_ensemble"
IMAGE_ENCODER = "image_encoder"
TEXT_ENCODER = "text_encoder"
DETECTOR = "detector"
PREPROCESS = "preprocess"
BOX_EMBED = "box_embed"

# Ensemble inputs: one encoded image per batch row, and the detection limits of the caller.
ENCODED_IMAGES = "encoded_images"
MIN_CONFIDENCE = "min_confidence"
MAX_OBJECTS = "max_objects"
# Ensemble outputs (per image; rows past num_dets are padding).
NUM_DETS = "num_dets"
DET_BOXES = "det_boxes"  # corners x1, y1, x2, y2 in original-image pixels
DET_SCORES = "det_scores"
DET_CLASSES = "det_classes"
GLOBAL_EMBEDDINGS = "global_embeddings"
BOX_EMBEDDINGS = "box_embeddings"

# Intermediate tensors between ensemble steps.
DETECTOR_INPUT = "detector_input"
EMBEDDER_INPUT = "embedder_input"
LETTERBOX = "letterbox"  # per image: scale_x, scale_y, pad_x, pad_y, source width, source height
RAW_DETECTIONS = "raw_detections"

# Ensemble config parameter naming the pack a repository was generated from.
PACK_MODEL_ID = "pixseek_model_id"

# Files the generator puts next to each python model so it reads the same manifests as the pack.
PACK_SPEC_FILE = "pack.json"
EMBEDDER_MANIFEST_FILE = "embedder.json"
DETECTOR_MANIFEST_FILE = "detector.json"
