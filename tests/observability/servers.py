"""Real processes for the observability tests: `pixseek serve` and a Prometheus scraping it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
API_JOB = "pixseek-api"  # the scrape job of deploy/prometheus/prometheus.yml that the dashboard selects


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


def stop(process: subprocess.Popen[bytes], grace: float = 30) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ServeProcess:
    """`pixseek serve` on a free loopback port, its stderr and stdout in `log`."""

    def __init__(self, db: Path, cache_dir: Path, log: Path, workers: int = 1, **env: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        environ = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        environ.update(PIXSEEK_CACHE_DIR=str(cache_dir), **env)
        command = [sys.executable, "-m", "pixseek.cli.main", "serve", "--db", str(db)]
        command += ["--port", str(self.port), "--workers", str(workers)]
        with log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=environ)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=60, **kwargs)

    def _answers(self, path: str) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"pixseek serve exited:\n{self.log.read_text()[-3000:]}")
        try:
            return self.get(path).status_code == 200
        except httpx.TransportError:
            return False

    def wait_ready(self, path: str = "/health", timeout: float = 300) -> None:
        """Until `path` answers 200 (/health: models loaded and warm)."""
        wait_for(lambda: self._answers(path), timeout, f"{self.url}{path}", interval=1.0)

    def stop(self) -> None:
        stop(self.process)


def prometheus_config(target: str, scrape_interval: str = "1s") -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml's API job, aimed at `target` and scraped every second."""
    deployed = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    job = next(j for j in deployed["scrape_configs"] if j["job_name"] == API_JOB)
    job = {**job, "scrape_interval": scrape_interval, "static_configs": [{"targets": [target]}]}
    return {"global": {"scrape_interval": scrape_interval}, "scrape_configs": [job]}


class PrometheusProcess:
    """Debian's Prometheus, run by hand (its service does not start here) on a free loopback port."""

    def __init__(self, workdir: Path, config: Mapping[str, Any]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config_file = workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(dict(config)))
        self.log = workdir / "prometheus.log"
        command = [
            str(PROMETHEUS),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_for(self._ready, 60, "prometheus /-/ready")

    def _ready(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"prometheus exited:\n{self.log.read_text()[-3000:]}")
        try:
            return httpx.get(self.url + "/-/ready", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """The instant vector of `expr` (raises when Prometheus rejects it)."""
        params = {"query": expr, **({"time": f"{at:.3f}"} if at is not None else {})}
        answer = httpx.get(self.url + "/api/v1/query", params=params, timeout=30).json()
        if answer.get("status") != "success":
            raise AssertionError(f"prometheus rejected {expr!r}: {answer}")
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    def value(self, expr: str) -> float:
        """The single value of `expr` now, or 0 when it has no series."""
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else 0.0

    def stop(self) -> None:
        stop(self.process)
