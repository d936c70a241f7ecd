"""Serving an exported pack through NVIDIA Triton: model repository generator and local server."""
