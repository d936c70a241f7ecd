"""The web UI: static HTML, CSS and JavaScript served by the API at `/ui` (no build step)."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
