"""Start and stop the CPU `tritonserver` from the nvidia-pytriton wheel, for tests, CI and benchmarks.

    python -m pixseek.triton.server start --repo DIR [--venv .venv-triton] [--state DIR]
    python -m pixseek.triton.server stop [--state DIR]

The wheel's server needs care outside pytriton: a backend directory with the python stub built
for this interpreter's version, the interpreter's LIBDIR and the wheel's bundled libraries on
LD_LIBRARY_PATH (the stub links libpython), the venv's bin first on PATH (so the stub runs the
venv's site-packages), loopback-only addresses, no GPU metrics, and SIGTERM to stop it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_VENV = ROOT / ".venv-triton"
DEFAULT_STATE = ROOT / ".work" / "triton"


@dataclass(frozen=True)
class Ports:
    http: int = 18000
    grpc: int = 18001
    metrics: int = 18002

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics}/metrics"


def free_ports() -> Ports:
    """Three loopback ports free right now (for tests and benchmarks running side by side)."""
    sockets = [socket.socket() for _ in range(3)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = Ports(*(sock.getsockname()[1] for sock in sockets))
    for sock in sockets:
        sock.close()
    return ports


@dataclass(frozen=True)
class TritonInstall:
    venv: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def _query(self, code: str) -> str:
        done = subprocess.run([str(self.python), "-c", code], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def package_dir(self) -> Path:
        return Path(self._query("import pytriton, os; print(os.path.dirname(pytriton.__file__))"))

    def python_version(self) -> str:
        return self._query("import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')")

    def libdir(self) -> str:
        return self._query("import sysconfig; print(sysconfig.get_config_var('LIBDIR'))")


def prepare_backends(install: TritonInstall, state: Path) -> Path:
    """A copy of the wheel's backends with the python stub for the venv's Python version."""
    server_dir = install.package_dir() / "tritonserver"
    backends = state / "backends"
    shutil.rmtree(backends, ignore_errors=True)
    shutil.copytree(server_dir / "backends", backends)
    stub = server_dir / "python_backend_stubs" / install.python_version() / "triton_python_backend_stub"
    shutil.copy2(stub, backends / "python" / stub.name)
    return backends


def server_environment(install: TritonInstall) -> dict[str, str]:
    package = install.package_dir()
    libraries = [
        install.libdir(),
        str(package.parent / "nvidia_pytriton.libs"),
        str(package / "tritonserver" / "external_libs"),
        os.environ.get("LD_LIBRARY_PATH", ""),
    ]
    return {
        **os.environ,
        "LD_LIBRARY_PATH": ":".join(path for path in libraries if path),
        "PATH": f"{install.venv / 'bin'}:{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(install.venv),
    }


def server_command(install: TritonInstall, repo: Path, backends: Path, ports: Ports) -> list[str]:
    binary = install.package_dir() / "tritonserver" / "bin" / "tritonserver"
    return [
        str(binary),
        f"--model-repository={repo}",
        f"--backend-directory={backends}",
        "--http-address=127.0.0.1",
        f"--http-port={ports.http}",
        "--grpc-address=127.0.0.1",
        f"--grpc-port={ports.grpc}",
        "--metrics-address=127.0.0.1",
        f"--metrics-port={ports.metrics}",
        "--allow-gpu-metrics=false",
        "--allow-cpu-metrics=false",
        "--log-verbose=0",
        "--exit-on-error=true",
    ]


def start(
    repo: Path, venv: Path, state: Path, ports: Ports, ready_timeout: float = 300.0
) -> subprocess.Popen[bytes]:
    """Start the server in its own process group and wait until every model is ready."""
    install = TritonInstall(venv)
    if not install.python.is_file():
        raise FileNotFoundError(f"{install.python} missing: run scripts/setup-triton-env.sh")
    state.mkdir(parents=True, exist_ok=True)
    backends = prepare_backends(install, state)
    log = (state / "server.log").open("wb")
    process = subprocess.Popen(
        server_command(install, repo.resolve(), backends, ports),
        env=server_environment(install),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    (state / "server.json").write_text(json.dumps({"pid": process.pid, **ports.__dict__}))
    try:
        wait_ready(ports, process, ready_timeout)
    except BaseException:
        stop_process(process.pid)
        raise
    return process


def wait_ready(ports: Ports, process: subprocess.Popen[bytes] | None, timeout: float) -> None:
    url = f"http://127.0.0.1:{ports.http}/v2/health/ready"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"tritonserver exited with {process.returncode}; see its server.log")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"tritonserver not ready after {timeout:.0f} s")


def stop_process(pid: int, timeout: float = 30.0) -> None:
    """SIGTERM (the server ignores SIGINT in background jobs), then SIGKILL if it lingers."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            waited, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll for its disappearance instead
            waited = 0 if _alive(pid) else pid
        if waited == pid:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pixseek.triton.server")
    parser.add_argument("action", choices=["start", "stop"])
    parser.add_argument("--repo", type=Path, help="model repository (start)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV)
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE, help="pid file, log and backends")
    parser.add_argument("--http-port", type=int, default=Ports.http)
    parser.add_argument("--grpc-port", type=int, default=Ports.grpc)
    parser.add_argument("--metrics-port", type=int, default=Ports.metrics)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for readiness")
    args = parser.parse_args(argv)
    if args.action == "stop":
        record = args.state / "server.json"
        if record.is_file():
            stop_process(int(json.loads(record.read_text())["pid"]))
            record.unlink()
        return 0
    if args.repo is None:
        parser.error("start needs --repo")
    ports = Ports(args.http_port, args.grpc_port, args.metrics_port)
    start(args.repo, args.venv, args.state, ports, args.timeout)
    print(f"tritonserver ready: grpc {ports.grpc_url}, log {args.state / 'server.log'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
