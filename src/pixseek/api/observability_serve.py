"""What `pixseek serve` does for metrics and logs before uvicorn starts its workers.

Imports no prometheus_client: the multiprocess folder must be named in the environment before any
worker imports it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pixseek.api.logs import logging_config
from pixseek.config import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(workers: int) -> Path | None:
    """An empty metrics folder named in PROMETHEUS_MULTIPROC_DIR, for several workers.

    Uses the folder already named there if any (e.g. a volume in a container), else a new temporary
    one. Files left by an earlier run are removed: their counters would be added to this run's.
    Returns the folder, or None when one process serves and nothing was configured.
    """
    named = os.environ.get(MULTIPROC_ENV)
    if workers <= 1 and not named:
        return None
    folder = Path(named) if named else Path(tempfile.mkdtemp(prefix="pixseek-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder


def remove_multiprocess_dir(folder: Path | None) -> None:
    """Delete a folder that `prepare_multiprocess_dir` made (not one the user named)."""
    if folder is not None and folder.name.startswith("pixseek-metrics-"):
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def observed_serving(workers: int, log_level: str) -> Iterator[dict[str, Any]]:
    """Around uvicorn.run: the metrics folder for `workers`, and uvicorn's `log_config` to pass on.

    The log config (JSON lines when PIXSEEK_LOG_JSON is set) is applied by uvicorn in every worker.
    """
    folder = prepare_multiprocess_dir(workers)
    try:
        yield logging_config(Settings().log_json, log_level)
    finally:
        remove_multiprocess_dir(folder)
