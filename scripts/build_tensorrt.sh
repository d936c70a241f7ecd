#!/usr/bin/env bash
# Build TensorRT plans for an exported pack on a GPU machine, print timings, and write a gpu
# flavour Triton repository that serves them.
#   scripts/build_tensorrt.sh PACK_DIR OUT_DIR [--fp32] [--trtexec PATH]
# Writes OUT_DIR/plans/{image_encoder,text_encoder,detector}.plan (profiles: images 1..128,
# text 1..64, detector 1..32; FP16 unless --fp32) and OUT_DIR/repo (tensorrt_plan models +
# python preprocess/box_embed + ensemble). Uses trtexec when found (PATH, /usr/src/tensorrt/bin),
# else the TensorRT Python API (pip install tensorrt). Plans only run on the GPU/TensorRT that
# built them.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACK="${1:?usage: build_tensorrt.sh PACK_DIR OUT_DIR [--fp32] [--trtexec PATH]}"
OUT="${2:?usage: build_tensorrt.sh PACK_DIR OUT_DIR [--fp32] [--trtexec PATH]}"
shift 2
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PYTHON" ]] || PYTHON=python3
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
"$PYTHON" -m pixseek.cli.main triton trt-build --pack "$PACK" --out "$OUT/plans" "$@"
"$PYTHON" -m pixseek.cli.main triton repo --pack "$PACK" --out "$OUT/repo" --flavour gpu --plans "$OUT/plans"
echo "plans in $OUT/plans, Triton repository in $OUT/repo"
