#!/usr/bin/env bash
# Creates .venv-triton: the CPU `tritonserver` shipped in the nvidia-pytriton wheel, plus what
# pixseek's python-backend models import (ONNX Runtime, numpy, OpenCV, Pillow, pydantic, pixseek).
# Also adds the gRPC client (tritonclient) to the runtime venv. Idempotent.
# nvidia-pytriton 0.7.0 ships tritonserver 2.51 and pins numpy < 2, hence its own venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PIXSEEK_TRITON_VENV:-$ROOT/.venv-triton}"
PYTHON="${PYTHON:-3.11}"
UV="${UV:-$ROOT/.venv/bin/uv}"
command -v "$UV" >/dev/null 2>&1 || UV="uv"
export UV_LINK_MODE=copy

if [[ ! -x "$VENV/bin/python" ]]; then
  "$UV" venv --python "$PYTHON" "$VENV"
fi
"$UV" pip install --python "$VENV/bin/python" \
  "nvidia-pytriton==0.7.0" "numpy<2" "onnxruntime>=1.18" "opencv-python-headless>=4.9" \
  "pillow>=10.3" "pydantic>=2.6"
# The models import pixseek's pure numpy/OpenCV modules only: no need for its full dependency set.
"$UV" pip install --python "$VENV/bin/python" --no-deps -e "$ROOT"
"$UV" pip install --python "$ROOT/.venv/bin/python" "tritonclient[grpc]>=2.41"

SERVER="$(find "$VENV" -path '*pytriton/tritonserver/bin/tritonserver' -type f | head -n 1)"
[[ -x "$SERVER" ]] || { echo "tritonserver not found in $VENV" >&2; exit 1; }
echo "triton env ok: $SERVER"
