"""The HTTP API: a FastAPI app over the Engine (`create_app`), with the web UI at `/ui`."""

from pixseek.api.app import create_app

__all__ = ["create_app"]
