"""pixseek: visual search over images and the objects in them."""

__version__ = "0.1.0"

import os as _os

# pixseek's own numpy work is small matrix products (ConSE mixing, exact scans of filter matches),
# which OpenBLAS threading slows by 2-40x on small machines. Set before numpy loads; a user's value wins.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
