"""Choosing and building the ModelPack the settings ask for; heavy backends are imported only when used."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import cast

from pixseek.config import Settings
from pixseek.models.protocols import ModelPack

STARTER = "starter"


class PackUnavailable(RuntimeError):
    """The settings name a pack whose backend module is not part of this install."""


def load_pack(settings: Settings) -> ModelPack:
    """The pack for `settings.inference` and `settings.models` ('starter' or a pack directory)."""
    if settings.inference == "triton":
        load_triton_pack = _backend("pixseek.models.triton_pack", "load_triton_pack")
        return cast(ModelPack, load_triton_pack(settings))
    if settings.models == STARTER:
        from pixseek.models.starter.pack import StarterPack

        pack = StarterPack(
            settings.resolved_cache_dir(),
            min_confidence=settings.min_detection_confidence,
            max_objects=settings.max_objects_per_image,
            detector_engine=settings.starter_detector_engine,
        )
        return pack
    load_onnx_pack = _backend("pixseek.models.onnx_pack", "load_onnx_pack")
    return cast(ModelPack, load_onnx_pack(Path(settings.models), settings))


def _backend(module_name: str, function: str) -> Callable[..., object]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise  # the backend exists but one of its own dependencies is missing: show that
        raise PackUnavailable(f"{module_name} is not available in this pixseek install") from error
    return cast(Callable[..., object], getattr(module, function))
