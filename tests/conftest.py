"""Fixtures shared by the whole test-suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from pixseek.models.starter.pack import StarterPack


@pytest.fixture(scope="session")
def starter_pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StarterPack]:
    """The real starter pack, warmed once per session (the first warmup builds the class-vector cache)."""
    pack = StarterPack(tmp_path_factory.mktemp("model-cache"))
    pack.warmup()
    yield pack


# CI installs and starts every service the tests use (.ci/run), so a skip there means a service or tool
# is missing and its tests did not run: the run fails instead of passing quietly.
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        _skipped.append(f"{report.nodeid}: {reason}")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if os.environ.get("CI") and _skipped:
        terminalreporter.write_line(f"CI: {len(_skipped)} tests skipped, which fails the run:", red=True)
        for line in _skipped:
            terminalreporter.write_line(f"  {line}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI") and _skipped and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
