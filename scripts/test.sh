#!/usr/bin/env bash
# The test command: lint, type check, then the test-suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests benchmarks scripts notebooks
.venv/bin/ruff format --check src tests benchmarks scripts notebooks
.venv/bin/mypy
.venv/bin/pytest "$@"
