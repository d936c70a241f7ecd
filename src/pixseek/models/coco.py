"""The 80 COCO class names and the TF detection-zoo id numbering (1..90 with gaps)."""

from __future__ import annotations

COCO_CLASSES: tuple[str, ...] = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)  # fmt: skip

# TF's 1..90 ids leave these unused (they were classes dropped from the final COCO release).
_TF_UNUSED_IDS = frozenset({12, 26, 29, 30, 45, 66, 68, 69, 71, 83})

# TF id -> contiguous COCO index 0..79.
TF_ID_TO_INDEX: dict[int, int] = {
    tf_id: index for index, tf_id in enumerate(i for i in range(1, 91) if i not in _TF_UNUSED_IDS)
}


def class_index(name: str) -> int:
    """Contiguous id of a COCO class name; ValueError names the valid choices."""
    try:
        return COCO_CLASSES.index(name)
    except ValueError:
        raise ValueError(f"unknown class {name!r}; expected one of the 80 COCO names") from None
