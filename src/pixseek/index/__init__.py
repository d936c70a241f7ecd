"""Storage of images, their objects and vectors: the Store Protocol and its backends."""

from pixseek.index.protocol import (
    ImageFilter,
    ImageHit,
    ImageRecord,
    ModelMismatchError,
    ObjectFilter,
    ObjectHit,
    ObjectRecord,
    Store,
    StoreInfo,
)

__all__ = [
    "ImageFilter",
    "ImageHit",
    "ImageRecord",
    "ModelMismatchError",
    "ObjectFilter",
    "ObjectHit",
    "ObjectRecord",
    "Store",
    "StoreInfo",
]
