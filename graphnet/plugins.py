"""Layers written outside graphnet, loaded only when the user names them.

A netdef never imports code: the modules that define layers of one's own are named on
the command line, in the environment, or by an installed package:

    graphnet solve net.yaml --plugin mylayers --plugin ./huber.py   # a module or a .py file
    GRAPHNET_PLUGINS=mylayers,otherpkg.layers graphnet solve net.yaml
    # setup.cfg / pyproject of an installed package:
    #   [project.entry-points."graphnet.layers"]  huber = "mypkg.huber"

Importing a plugin runs its `@register` decorators; a plugin that fails to import, or
defines a type name that already exists, is one GraphnetError naming the plugin.
"""

import importlib
import importlib.util
import os
import sys
import traceback

from .errors import GraphnetError

ENVIRONMENT = "GRAPHNET_PLUGINS"
ENTRY_POINTS = "graphnet.layers"
LOADED = {}   # what a plugin was named as -> the module it imported


def load_plugins(names=(), environment=True, entry_points=True):
    """Import the installed `graphnet.layers` entry points, the plugins in GRAPHNET_PLUGINS
    and `names` (modules or .py files), each once; returns the names loaded so far."""
    if entry_points:
        from importlib.metadata import entry_points as installed
        for point in installed(group=ENTRY_POINTS):
            where = f"entry point '{point.name}' ({point.value}) of group {ENTRY_POINTS}"
            _load(point.value, where, lambda point=point: _entry_point(point))
    if environment:
        for name in filter(None, (n.strip() for n in os.environ.get(ENVIRONMENT, "").split(","))):
            _load(name, f"{ENVIRONMENT}: {name}", lambda name=name: _import(name))
    for name in names:
        _load(name, f"--plugin {name}", lambda name=name: _import(name))
    return list(LOADED)


def _load(name, where, load):
    if name in LOADED:
        return
    try:
        LOADED[name] = load()
    except GraphnetError as err:     # register() refusing a type name
        raise GraphnetError(err.message, file=where) from None
    except Exception as err:  # the plugin's own bug or a missing dependency: say where it is
        frames = [f for f in traceback.extract_tb(err.__traceback__)
                  if f.filename != __file__ and "importlib" not in f.filename]
        at = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        raise GraphnetError(f"cannot load: {type(err).__name__}: {err}{at}", file=where) from None


def _entry_point(point):
    """An entry point names a module, or a layer class in one (`mypkg.huber:Huber`), which
    is registered if its module did not."""
    from .layers.base import LAYERS, Layer, register
    found = point.load()
    if isinstance(found, type) and issubclass(found, Layer) and LAYERS.get(found.__name__) is not found:
        register(found)
    return found


def _import(name):
    """A module by its dotted name, or a .py file (importable by its file name's stem)."""
    if not name.endswith(".py"):
        return importlib.import_module(name)
    if not os.path.isfile(name):
        raise FileNotFoundError(f"no such file {name}")
    module_name = os.path.splitext(os.path.basename(name))[0]
    spec = importlib.util.spec_from_file_location(module_name, os.path.abspath(name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look a class's module up here
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def unknown_type_hint(kind):
    """What to add to 'unknown layer type' so that the user finds the flag that loads it."""
    from .layers import LAYERS
    module, dot, cls = kind.rpartition(".")
    if dot and cls in LAYERS:
        return f": a type is its class name, without the module: write type: {cls}"
    if dot and module:
        return (f": a netdef never imports code; load the module with --plugin {module} "
                f"(or {ENVIRONMENT}={module}) and write type: {cls}")
    if LOADED:
        return (f"; plugins loaded: {', '.join(LOADED)}; another module's layers load with "
                f"--plugin MODULE_OR_FILE")
    return ""
