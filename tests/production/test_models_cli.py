"""`pixseek models` in the runtime environment (no torch): info on a pack, export says what it needs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from pixseek.cli.main import main
from tests.production.fake_pack import write_fake_pack


def test_info_describes_a_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_fake_pack(tmp_path / "pack", dim=384)
    assert main(["models", "info", str(pack)]) == 0
    out = capsys.readouterr().out
    assert "dim: 384" in out and "output_format: cxcywh_class_scores" in out


def test_info_verify_flags_a_modified_graph(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = write_fake_pack(tmp_path / "pack")  # placeholder files do not match the manifests' sha256
    assert main(["models", "info", str(pack), "--verify"]) == 1
    assert "detector.onnx" in capsys.readouterr().out


@pytest.mark.skipif(importlib.util.find_spec("torch") is not None, reason="torch is installed here")
def test_export_without_torch_points_to_the_export_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["models", "export", "mobileclip2-s2", "--random-weights", "--out", str(tmp_path)]) == 2
    assert "setup-export-env.sh" in capsys.readouterr().err
