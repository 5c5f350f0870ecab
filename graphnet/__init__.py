"""graphnet: nets of named layers joined by named blobs, trained on NumPy or CuPy."""

from . import layers
from .backend import Backend, cupy_available, get_backend
from .errors import GraphnetError
from .net import Net

__version__ = "0.1.0"
__all__ = ["Backend", "GraphnetError", "Net", "cupy_available", "get_backend", "layers"]
