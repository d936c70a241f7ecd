"""Process metrics and bookkeeping for multiprocess mode, where each worker writes its own files.

prometheus_client's own process collector reports only the process that serves the scrape; here
every live worker is reported, told apart by a `pid` label.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from pathlib import Path

from prometheus_client import ProcessCollector, multiprocess
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

# Files are named <type>[_<gauge mode>]_<pid>.db by prometheus_client.
_PID_OF_FILE = re.compile(r"_(\d+)\.db$")


def worker_pids(folder: Path) -> set[int]:
    """Pids of the processes that wrote metrics files in `folder`."""
    return {int(m.group(1)) for f in folder.glob("*.db") if (m := _PID_OF_FILE.search(f.name))}


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead_workers(folder: Path) -> None:
    """Drop the live-gauge files of workers that died (killed, or restarted by uvicorn).

    Their counters and histograms stay: those must not go down when a worker is replaced.
    """
    for pid in worker_pids(folder):
        if not is_alive(pid):
            multiprocess.mark_process_dead(pid, str(folder))


class WorkerProcessCollector(Collector):
    """process_* metrics of every live worker, with a `pid` label."""

    def __init__(self, folder: Path, registry: CollectorRegistry | None = None) -> None:
        self._folder = folder
        if registry is not None:
            registry.register(self)

    def collect(self) -> Iterator[Metric]:
        merged: dict[str, Metric] = {}
        for pid in sorted(p for p in worker_pids(self._folder) if is_alive(p)):
            collector = ProcessCollector(pid=functools.partial(int, pid), registry=None)
            for family in collector.collect():
                target = merged.setdefault(
                    family.name, Metric(family.name, family.documentation, family.type, family.unit)
                )
                for sample in family.samples:
                    target.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        yield from merged.values()
