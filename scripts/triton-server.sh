#!/usr/bin/env bash
# Start or stop the CPU tritonserver (nvidia-pytriton wheel, .venv-triton) on loopback.
#   scripts/triton-server.sh start REPO [--grpc-port N --http-port N --metrics-port N]
#   scripts/triton-server.sh stop
# Make a repository first: pixseek triton repo --pack PACK --out REPO --flavour python
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
action="${1:?usage: triton-server.sh start REPO [options] | stop}"
shift
case "$action" in
  start) repo="${1:?start needs a model repository}"; shift
         exec "$ROOT/.venv/bin/python" -m pixseek.triton.server start --repo "$repo" "$@" ;;
  stop)  exec "$ROOT/.venv/bin/python" -m pixseek.triton.server stop "$@" ;;
  *)     echo "unknown action $action" >&2; exit 2 ;;
esac
