"""graphnet: nets of named layers joined by named blobs, trained on NumPy or CuPy."""

import importlib

__version__ = "0.1.0"

# Names are imported when first used: `graphnet ...` on the command line starts without
# NumPy or h5py, so a Ctrl-C during start-up is caught like any other.
_EXPORTS = {"Backend": "backend", "cupy_available": "backend", "get_backend": "backend",
            "GraphnetError": "errors", "Net": "net", "chain": "chain", "load": "deploy",
            "load_plugins": "plugins"}
__all__ = ["Backend", "GraphnetError", "Net", "chain", "cupy_available", "get_backend", "layers",
           "load", "load_plugins"]


def __getattr__(name):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif name in ("layers", "solver", "coffee", "io", "testing", "datasets"):
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'graphnet' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__ + ["__version__"])
