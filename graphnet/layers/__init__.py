"""Every layer type, registered under its class name as the netdef `type`.

Each module here holds one layer or one small family; importing the package imports
them all, so adding a layer is adding a file.
"""

import importlib
import pkgutil

from .base import LAYERS, Layer, Loss, Statistic, register

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

globals().update(LAYERS)
__all__ = ["LAYERS", "Layer", "Loss", "Statistic", "register", *sorted(LAYERS)]
