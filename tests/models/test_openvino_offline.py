"""OpenVINO stays offline: its converter's usage telemetry never starts (the README promises no network)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("openvino")

PROBE = """
from pixseek.models.openvino_session import core
core()
import openvino.tools.ovc.telemetry_utils as telemetry
print(telemetry.tm.__name__)
"""


def test_loading_openvino_starts_no_telemetry(tmp_path: Path) -> None:
    # A fresh home without OpenVINO's consent file: its telemetry would count that as consent. CI
    # variables are dropped, as the telemetry client also stays quiet when it sees them.
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    env["HOME"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "openvino.tools.ovc.telemetry_stub"
    assert not (tmp_path / "intel").exists()  # no client id, no usage counts written
