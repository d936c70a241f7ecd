"""Sources of the python-backend models; `pixseek triton repo` copies each in as `<model>/1/model.py`.

They run inside Triton's python backend stub, whose interpreter must have pixseek (no extras),
numpy, ONNX Runtime, OpenCV, Pillow and pydantic installed (see scripts/setup-triton-env.sh).
"""
