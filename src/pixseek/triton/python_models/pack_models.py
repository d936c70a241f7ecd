"""Loading the pack manifests the generator placed next to a python model."""

from __future__ import annotations

from pathlib import Path

from pixseek.models.pack_manifest import DetectorManifest, EmbedderManifest, PackSpec, read_spec
from pixseek.triton.names import DETECTOR_MANIFEST_FILE, EMBEDDER_MANIFEST_FILE, PACK_SPEC_FILE


def pack_manifests(directory: Path) -> tuple[PackSpec, EmbedderManifest, DetectorManifest]:
    return (
        read_spec(directory / PACK_SPEC_FILE, PackSpec),
        read_spec(directory / EMBEDDER_MANIFEST_FILE, EmbedderManifest),
        read_spec(directory / DETECTOR_MANIFEST_FILE, DetectorManifest),
    )
