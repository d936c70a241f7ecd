"""Exported packs for the production-model tests, built once and cached across sessions.

Packs are exported with random weights by the export environment's interpreter (torch lives only
there) and cached under .work/test-packs/ (or $PIXSEEK_TEST_PACK_CACHE, e.g. a folder that outlives CI's
fresh clones) keyed by the exporter's source, so a run pays the export (a few minutes) only when
the exporter changes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PIXSEEK_TEST_PACK_CACHE", ROOT / ".work" / "test-packs"))
_EXPORT_SOURCES = [
    *sorted((ROOT / "src" / "pixseek" / "export").glob("*.py")),
    ROOT / "src" / "pixseek" / "models" / "pack_manifest.py",
]


def require(condition: bool, reason: str) -> None:
    """Skip on a developer machine without the environment; fail in CI, where it must exist."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI must run the setup scripts first)")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def export_python() -> Path:
    python = Path(os.environ.get("PIXSEEK_EXPORT_PYTHON", ROOT / ".venv-export" / "bin" / "python"))
    require(python.is_file(), f"no export environment at {python}: run scripts/setup-export-env.sh")
    return python


def run_export_python(export_python: Path, *args: str, timeout: float = 900) -> str:
    """Run the export interpreter (offline) and return its stdout; a failure shows its stderr."""
    env = {**os.environ, "YOLO_OFFLINE": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [str(export_python), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}"
    return done.stdout


def exported_pack(export_python: Path, *models: str) -> Path:
    digest = hashlib.sha256("|".join(models).encode())
    for source in _EXPORT_SOURCES:
        digest.update(source.read_bytes())
    target = CACHE / f"{'+'.join(models)}-{digest.hexdigest()[:12]}"
    if not (target / "pack.json").is_file():
        staging = target.with_name(target.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        run_export_python(
            export_python, "-m", "pixseek.cli.main", "models", "export", *models,
            "--random-weights", "--out", str(staging),
        )  # fmt: skip
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
        for stale in CACHE.glob(f"{'+'.join(models)}-*"):  # exports of older exporter code
            if stale != target:
                shutil.rmtree(stale, ignore_errors=True)
    return target


@pytest.fixture(scope="session")
def mobileclip_pack(export_python: Path) -> Path:
    """MobileCLIP2-S2 + YOLO11s (raw anchors output, NMS in pixseek)."""
    return exported_pack(export_python, "mobileclip2-s2", "yolo11s")


@pytest.fixture(scope="session")
def end_to_end_pack(export_python: Path) -> Path:
    """MobileCLIP2-S0 + YOLO26n (end-to-end detector output)."""
    return exported_pack(export_python, "mobileclip2-s0", "yolo26n")
