"""pixseek: visual search over images and the objects in them."""

__version__ = "0.1.0"

import os as _os

# pixseek's own numpy work is small matrix products (ConSE mixing, exact scans of filter matches),
# which OpenBLAS threading slows by 2-40x on small machines. Set before numpy loads; a user's value wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__all__ = ["Engine", "Settings", "__version__"]


def __getattr__(name: str) -> object:
    """`from pixseek import Engine, Settings`, loaded on first use (the CLI's --version stays fast)."""
    if name == "Engine":
        from pixseek.engine import Engine

        return Engine
    if name == "Settings":
        from pixseek.config import Settings

        return Settings
    raise AttributeError(f"module 'pixseek' has no attribute {name!r}")
