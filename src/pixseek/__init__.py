"""pixseek: visual search over images and the objects in them."""

__version__ = "0.1.0"
