"""Snapshots: one HDF5 file holding everything a run needs to go on exactly where it stopped.

Layout (plain h5py can read it; nothing in it is ever executed):

    /                      attrs: format="graphnet-snapshot", version, iteration, epoch, netdef (JSON)
    /params/<key>/<name>   each parameter the train net owns, e.g. /params/ip1/weight
    /solver/               attrs: method, policy state (JSON); datasets: the method's state arrays
    /rng                   attrs: backend (JSON of the NumPy bit generator state)
    /layers/<net>/<layer>/ each data layer's position: datasets for arrays, attrs for numbers,
                           JSON attrs for random generators

A snapshot is written to a temporary file, flushed to disk and renamed over the final
name, so a crash at any moment leaves the newest complete snapshot in place.
"""

import json
import os
import re

import h5py
import numpy as np

from ..errors import GraphnetError

FORMAT, VERSION = "graphnet-snapshot", 1
NAME = re.compile(r"^snapshot-(\d+)\.h5$")


def snapshot_name(iteration):
    return f"snapshot-{iteration:08d}.h5"


def newest_snapshot(run_dir):
    """The path of the snapshot with the highest iteration in run_dir, or None."""
    try:
        found = [(int(m.group(1)), name) for name in os.listdir(run_dir) if (m := NAME.match(name))]
    except FileNotFoundError:
        return None
    return os.path.join(run_dir, max(found)[1]) if found else None


def remove_partial_files(run_dir):
    """Delete what an interrupted write left behind (files named *.tmp<pid>)."""
    if os.path.isdir(run_dir):
        for name in os.listdir(run_dir):
            if re.search(r"\.tmp\d+$", name):
                os.remove(os.path.join(run_dir, name))


def _write_value(group, name, value, to_host):
    if isinstance(value, np.random.Generator):
        group.attrs[name] = "generator:" + json.dumps(value.bit_generator.state)
    elif isinstance(value, (bool, int, float, np.integer, np.floating)):
        group.attrs[name] = value
    else:
        group.create_dataset(name, data=to_host(value))


def _read_value(group, name, current):
    if name in group.attrs and isinstance(group.attrs[name], str) and group.attrs[name].startswith("generator:"):
        current.bit_generator.state = json.loads(group.attrs[name][len("generator:"):])
        return current
    if name in group.attrs:
        return type(current)(group.attrs[name]) if isinstance(current, (int, float)) else group.attrs[name]
    return group[name][()]


def save_snapshot(path, net, *, iteration, epoch, solver_attrs, solver_arrays, nets=(), netdef=None):
    """Write a snapshot of `net` (the train net) and the data positions of `nets` ({tag: net})."""
    to_host = net.backend.to_host
    tmp = f"{path}.tmp{os.getpid()}"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with h5py.File(tmp, "w") as f:
        f.attrs.update(format=FORMAT, version=VERSION, iteration=iteration, epoch=epoch,
                       dtype=net.backend.dtype.name, netdef=json.dumps(netdef or {}))
        f.create_group("params")
        for param in net.owned_params:
            f.create_dataset(f"params/{param.key}", data=to_host(param.data))
        solver = f.create_group("solver")
        solver.attrs.update({k: json.dumps(v) for k, v in solver_attrs.items()})
        for name, array in solver_arrays.items():
            solver.create_dataset(name, data=to_host(array))
        f.create_group("rng").attrs["backend"] = json.dumps(net.backend.rng_state())
        for tag, other in {"train": net, **dict(nets)}.items():
            for layer in other.layers:
                if layer.state_attrs:
                    group = f.create_group(f"layers/{tag}/{layer.name}")
                    for name in layer.state_attrs:
                        _write_value(group, name, getattr(layer, name), to_host)
    with open(tmp, "rb") as done:
        os.fsync(done.fileno())
    os.replace(tmp, path)


class Snapshot:
    """A snapshot file, opened and checked: parameters, solver state and positions as host data."""

    def __init__(self, path):
        self.path = str(path)
        try:
            self.file = h5py.File(self.path, "r")
        except FileNotFoundError:
            raise GraphnetError("no such snapshot file", file=self.path) from None
        except OSError as err:
            raise GraphnetError(f"not a readable HDF5 snapshot ({err})", file=self.path) from None
        attrs = self.file.attrs
        if attrs.get("format") != FORMAT or "params" not in self.file:
            self.file.close()
            raise GraphnetError("not a graphnet snapshot (no 'format' attribute or no /params group)",
                                file=self.path)
        self.iteration = int(attrs["iteration"])
        self.epoch = int(attrs["epoch"])
        self.dtype = str(attrs["dtype"])
        self.netdef = json.loads(attrs["netdef"])
        self.params = {}
        self.file["params"].visititems(lambda name, obj: self.params.__setitem__(name, obj[()])
                                       if isinstance(obj, h5py.Dataset) else None)
        solver = self.file["solver"]
        self.solver_attrs = {k: json.loads(v) for k, v in solver.attrs.items()}
        self.solver_arrays = {k: solver[k][()] for k in solver}
        self.rng_state = json.loads(self.file["rng"].attrs["backend"])

    def close(self):
        self.file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def load_params(self, net, *, exact=True):
        """Copy parameters into `net` by key (layer/param). exact: every owned param must be there
        with the net's dtype; otherwise missing ones are skipped and dtypes converted.
        Returns the keys that were not found."""
        missing = []
        for param in net.owned_params:
            if param.key not in self.params:
                if exact:
                    raise GraphnetError(f"has no parameter '{param.key}' that layer "
                                        f"'{param.layer.name}' needs", file=self.path)
                missing.append(param.key)
                continue
            value = self.params[param.key]
            if value.shape != param.shape:
                raise GraphnetError(f"parameter '{param.key}' has shape {value.shape}, but layer "
                                    f"'{param.layer.name}' needs {param.shape}", file=self.path)
            if exact and value.dtype != net.backend.dtype:
                raise GraphnetError(f"parameter '{param.key}' is {value.dtype}, the net is "
                                    f"{net.backend.dtype} (resume with --dtype {value.dtype})",
                                    file=self.path)
            param.data[...] = net.backend.asarray(value)
        return missing

    def load_positions(self, nets):
        """Restore each data layer's position and generators in {tag: net}."""
        for tag, net in nets.items():
            for layer in net.layers:
                if not layer.state_attrs:
                    continue
                key = f"layers/{tag}/{layer.name}"
                if key not in self.file:
                    raise GraphnetError(f"has no saved position for layer '{layer.name}' of the "
                                        f"{tag} net", file=self.path)
                group = self.file[key]
                for name in layer.state_attrs:
                    current = getattr(layer, name)
                    value = _read_value(group, name, current)
                    if hasattr(current, "shape") and not isinstance(current, np.ndarray):
                        value = net.backend.asarray(value, dtype=current.dtype)
                    setattr(layer, name, value)
