"""`pixseek serve --workers 2`: both workers serve, and /metrics sums the counters of both."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from prometheus_client import multiprocess
from prometheus_client.parser import text_string_to_metric_families
from tests.observability.servers import ServeProcess, wait_for

from pixseek.api.observability_procs import is_alive, worker_pids

ROOT_COUNTER = "visual_search_requests_total"


def served_per_worker(metrics_dir: Path) -> dict[int, float]:
    """Requests to "/" counted in each worker's own counter file (pid -> count)."""
    served = {}
    for path in metrics_dir.glob("counter_*.db"):
        total = 0.0
        for family in multiprocess.MultiProcessCollector.merge([str(path)], accumulate=False):
            total += sum(
                s.value for s in family.samples if s.name == ROOT_COUNTER and s.labels["endpoint"] == "/"
            )
        served[int(path.stem.split("_")[1])] = total
    return served


def total_served(metrics_dir: Path) -> float:
    return sum(served_per_worker(metrics_dir).values())


def settled_per_worker(metrics_dir: Path) -> dict[int, float]:
    """`served_per_worker` once two readings 0.5 s apart agree: the middleware counts a request after
    its response is sent, so a count (the readiness probe's, the last request's) can land just after
    the client has its answer."""
    previous = served_per_worker(metrics_dir)
    for _ in range(20):
        time.sleep(0.5)
        current = served_per_worker(metrics_dir)
        if current == previous:
            return current
        previous = current
    return previous


def fresh_connection_get(url: str) -> int:
    """The status of a GET on a new connection (0 when it fails), so any worker may accept it."""
    try:
        return httpx.get(url, headers={"Connection": "close"}, timeout=30).status_code
    except httpx.TransportError:
        return 0


def live_workers(metrics_dir: Path) -> set[int]:
    """Workers that imported the app (it creates their metrics files) and are still running."""
    return {pid for pid in worker_pids(metrics_dir) if is_alive(pid)}


@pytest.fixture
def two_workers(tmp_path: Path, model_cache: Path) -> Iterator[tuple[ServeProcess, Path]]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999999.db").write_bytes(b"stale file of an earlier run")  # serve must clear it
    log = tmp_path / "serve.log"
    env = {"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    server = ServeProcess(tmp_path / "db", model_cache, log, workers=2, **env)
    try:
        # Before any load: a worker still starting on a busy machine can miss uvicorn's health ping.
        wait_for(lambda: len(live_workers(metrics_dir)) == 2, 240, "two workers running the app")
        server.wait_ready("/")  # "/" needs no models: a worker answers it as soon as it runs
        wait_for(lambda: total_served(metrics_dir) >= 1, 60, "the readiness probe's count")
        yield server, metrics_dir
    finally:
        server.stop()


def send(url: str, count: int) -> int:
    """`count` requests on fresh connections, 8 at a time; how many were answered 200."""
    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(fresh_connection_get, [url] * count)).count(200)


def busiest_worker(metrics_dir: Path) -> int:
    served = served_per_worker(metrics_dir)
    return max(live_workers(metrics_dir), key=lambda pid: served.get(pid, 0.0))


def send_while_paused(pid: int, url: str, count: int) -> int:
    """`send` while worker `pid` is stopped for 1.5 s (well inside uvicorn's 5 s health ping)."""
    pool = ThreadPoolExecutor(1)
    os.kill(pid, signal.SIGSTOP)
    try:
        answered = pool.submit(send, url, count)
        time.sleep(1.5)
    finally:
        os.kill(pid, signal.SIGCONT)  # before waiting: requests it had taken finish once it runs
    try:
        return answered.result()
    finally:
        pool.shutdown()


def test_counters_of_both_workers_are_summed(two_workers: tuple[ServeProcess, Path]) -> None:
    server, metrics_dir = two_workers
    before = sum(settled_per_worker(metrics_dir).values())
    sent = send(server.url + "/", 40)
    # The kernel wakes both workers for a new connection and the first to accept takes it; one worker
    # can win every time. Pausing the busier one for a moment leaves the accepting to the other.
    for _ in range(5):
        if sum(count > 0 for count in served_per_worker(metrics_dir).values()) >= 2:
            break
        sent += send_while_paused(busiest_worker(metrics_dir), server.url + "/", 16)
    wait_for(lambda: total_served(metrics_dir) >= before + sent, 60, f"{before + sent} requests counted")
    per_worker = settled_per_worker(metrics_dir)
    assert sum(count > 0 for count in per_worker.values()) >= 2, per_worker
    assert sum(per_worker.values()) == before + sent
    exposition = server.get("/metrics").text
    totals = [
        sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == ROOT_COUNTER and sample.labels == {"endpoint": "/", "status": "200"}
    ]
    assert totals == [before + sent]
    assert 999999999 not in per_worker  # the stale file was removed at start
