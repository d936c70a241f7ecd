"""The offline starter pack: SSD-MobileNet-v2 detector, ConSE image vectors and MiniLM text vectors.

Modules are imported by path (`pixseek.models.starter.pack`), so using one model loads no other.
"""
