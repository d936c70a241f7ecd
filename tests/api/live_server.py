"""`pixseek serve` in a subprocess on a free loopback port, for tests against a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def live_server(db: Path, cache_dir: Path, timeout_s: float = 180.0, **env: str) -> Iterator[str]:
    """Start the server, wait until /health answers 200, yield its base URL; stop it after."""
    port = free_port()
    command = [sys.executable, "-m", "pixseek.cli.main", "serve", "--db", str(db), "--port", str(port),
               "--log-level", "warning"]  # fmt: skip
    environment = {**os.environ, "PIXSEEK_CACHE_DIR": str(cache_dir), **env}
    log = (db.parent / f"server-{port}.log").open("wb")
    process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_ready(process, base_url, timeout_s)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def _wait_until_ready(process: subprocess.Popen[bytes], base_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pixseek serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"pixseek serve not ready after {timeout_s}s")
