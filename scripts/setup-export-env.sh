#!/usr/bin/env bash
# Creates .venv-export: torch, open_clip, timm, ultralytics and onnx for `pixseek models export`.
# torch stays out of the runtime venv (.venv); the runtime loads only the exported ONNX files.
# Idempotent: a second run only checks the pins. PyPI's Linux torch is a CUDA build of several GB.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PIXSEEK_EXPORT_VENV:-$ROOT/.venv-export}"
PYTHON="${PYTHON:-3.11}"
UV="${UV:-$ROOT/.venv/bin/uv}"
command -v "$UV" >/dev/null 2>&1 || UV="uv"

# torch and torchvision must match: a mismatched torchvision fails with "torchvision::nms does not exist".
PINS=(
  "torch==2.14.1"
  "torchvision==0.29.1"
  "open_clip_torch==3.3.0"
  "timm==1.0.31"
  "ultralytics==8.4.190"
  "onnx>=1.16"
  "onnxruntime>=1.18"
  "ftfy>=6"
  "pytest>=8"
)

if [[ ! -x "$VENV/bin/python" ]]; then
  "$UV" venv --python "$PYTHON" "$VENV"
fi
"$UV" pip install --python "$VENV/bin/python" "${PINS[@]}"
"$UV" pip install --python "$VENV/bin/python" -e "$ROOT"
"$VENV/bin/python" -c "import torch, torchvision, open_clip, ultralytics, onnx; print('export env ok: torch', torch.__version__)"
