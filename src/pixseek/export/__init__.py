"""Exporting PyTorch models (open_clip, ultralytics) to an ONNX model pack.

Needs the export environment (`scripts/setup-export-env.sh`); only `pixseek models export`
imports this package, so the runtime never needs torch.
"""
