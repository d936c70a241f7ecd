"""The README's Python example runs as written, on a folder of sample photos."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.helpers import copy_samples

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_python_example_indexes_and_searches(tmp_path: Path) -> None:
    (example,) = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    copy_samples(tmp_path / "photos", ("chelsea", "coffee", "bus"))
    env = {**os.environ, "PIXSEEK_DB": str(tmp_path / "db")}
    done = subprocess.run([sys.executable, "-c", example], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "indexed 3, already stored 0" and len(lines) == 4
    assert all(str(tmp_path / "photos") in line for line in lines[1:])
