"""Snapshots: one HDF5 file holding everything a run needs to go on exactly where it stopped.

Layout (plain h5py can read it; nothing in it is ever executed):

    /                      attrs: format="graphnet-snapshot", version, iteration, epoch, loss,
                           netdef (JSON), inputs (JSON: each data top's shape per sample),
                           checksum ("sha256:<hex>" of all the rest)
    /params/<key>/<name>   each parameter the train net owns, e.g. /params/ip1/weight
    /solver/               attrs: method, policy state (JSON); datasets: the method's state arrays
    /rng                   attrs: backend (JSON of the NumPy bit generator state)
    /layers/<net>/<layer>/ each data layer's position: datasets for arrays, attrs for numbers,
                           JSON attrs for random generators

A snapshot is written to a temporary file, flushed to disk and renamed over the final
name, so a crash at any moment leaves the newest complete snapshot in place. Its
checksum covers every name, attribute and byte of data, and loading checks it: a file
damaged later (a bad disk, a copy cut short) is refused, never half-loaded.
"""

import hashlib
import json
import os

import h5py
import numpy as np

from ..errors import GraphnetError
from .run_dir import snapshot_name, snapshots

FORMAT, VERSION = "graphnet-snapshot", 2
__all__ = ["Snapshot", "newest_snapshot", "sample_shapes", "save_snapshot", "snapshot_name"]


def newest_snapshot(run_dir):
    """The path of the snapshot with the highest iteration in run_dir, or None."""
    found = snapshots(run_dir)
    return found[0][1] if found else None


def _write_value(group, name, value, to_host):
    if isinstance(value, np.random.Generator):
        group.attrs[name] = "generator:" + json.dumps(value.bit_generator.state)
    elif isinstance(value, (bool, int, float, np.integer, np.floating)):
        group.attrs[name] = value
    else:
        group.create_dataset(name, data=to_host(value))


def _read_value(attrs, datasets, name, current):
    value = attrs.get(name)
    if isinstance(value, str) and value.startswith("generator:"):
        current.bit_generator.state = json.loads(value[len("generator:"):])
        return current
    if name in attrs:
        return type(current)(value) if isinstance(current, (int, float)) else value
    return datasets[name]


def _contents(f):
    """{name: (attrs, data or None)} for the root, every group and every dataset of a file."""
    names = []
    f.visit(names.append)
    found = {"": (dict(f.attrs), None)}
    for name in names:
        obj = f[name]
        found[name] = (dict(obj.attrs), obj[()] if isinstance(obj, h5py.Dataset) else None)
    return found


def _digest(contents):
    """The checksum of a file's contents, its own `checksum` attribute left out."""
    h = hashlib.sha256()
    for name in sorted(contents):
        attrs, data = contents[name]
        h.update(f"\0{name}\0".encode())
        for key in sorted(attrs):
            if name == "" and key == "checksum":
                continue
            value = attrs[key]
            h.update(f"@{key}=".encode())
            if isinstance(value, str):
                h.update(value.encode())
            else:
                value = np.asarray(value)
                h.update(f"{value.dtype.str}{value.shape}".encode() + value.tobytes())
        if data is not None:
            data = np.asarray(data)
            h.update(f"{data.dtype.str}{data.shape}".encode() + np.ascontiguousarray(data).tobytes())
    return "sha256:" + h.hexdigest()


def save_snapshot(path, net, *, iteration, epoch, solver_attrs, solver_arrays, nets=(), netdef=None,
                  loss=float("nan")):
    """Write a snapshot of `net` (the train net) and the data positions of `nets` ({tag: net})."""
    to_host = net.backend.to_host
    tmp = f"{path}.tmp{os.getpid()}"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with h5py.File(tmp, "w") as f:
        f.attrs.update(format=FORMAT, version=VERSION, iteration=iteration, epoch=epoch,
                       loss=float(loss), dtype=net.backend.dtype.name, netdef=json.dumps(netdef or {}),
                       inputs=json.dumps(sample_shapes(net)))
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
        f.flush()
        f.attrs["checksum"] = _digest(_contents(f))
    with open(tmp, "rb") as done:
        os.fsync(done.fileno())
    os.replace(tmp, path)


def save_weights(path, params, *, dtype="float32", inputs=None, netdef=None):
    """A weights-only snapshot (iteration 0, no solver state, no data positions): {key: array}
    as /params/<key>, checksummed like every snapshot, so `solve --weights` and
    `graphnet.load` take it. For weights that come from elsewhere (a Caffe model)."""
    tmp = f"{path}.tmp{os.getpid()}"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with h5py.File(tmp, "w") as f:
        f.attrs.update(format=FORMAT, version=VERSION, iteration=0, epoch=0, loss=float("nan"),
                       dtype=np.dtype(dtype).name, netdef=json.dumps(netdef or {}))
        if inputs is not None:
            f.attrs["inputs"] = json.dumps(inputs)
        f.create_group("params")
        for key, value in params.items():
            f.create_dataset(f"params/{key}", data=np.asarray(value, dtype=dtype))
        f.create_group("solver")
        f.create_group("rng").attrs["backend"] = json.dumps(None)
        f.flush()
        f.attrs["checksum"] = _digest(_contents(f))
    with open(tmp, "rb") as done:
        os.fsync(done.fileno())
    os.replace(tmp, path)


def sample_shapes(net):
    """{top: shape of one sample} for every data top of `net`: what a deploy net's inputs need,
    kept so that loading a model never needs the training data files."""
    return {top: list(net.blobs[top].shape[layer.sample_axes:])
            for layer in net.layers if layer.is_source for top in layer.tops}


class Snapshot:
    """A snapshot file, read whole and checked: parameters, solver state and positions as host
    data. A file that is damaged, cut short or not a snapshot is one GraphnetError, raised here."""

    def __init__(self, path):
        self.path = str(path)
        try:
            with h5py.File(self.path, "r") as f:
                contents = _contents(f)
        except FileNotFoundError:
            raise GraphnetError("no such snapshot file", file=self.path) from None
        except Exception as err:  # HDF5 reports damage as OSError, RuntimeError, KeyError...
            raise GraphnetError(f"is damaged or not an HDF5 file ({_brief(err)})", file=self.path) from None
        attrs = contents[""][0]
        if attrs.get("format") != FORMAT or "params" not in contents:
            raise GraphnetError("not a graphnet snapshot (no 'format' attribute or no /params group)",
                                file=self.path)
        stored = attrs.get("checksum")
        if stored is None and int(attrs.get("version", 1)) >= 2:
            raise GraphnetError("is damaged: its checksum is missing", file=self.path)
        if stored is not None and stored != _digest(contents):
            raise GraphnetError("is damaged: its contents do not match its checksum", file=self.path)
        try:
            self._read(contents, attrs)
        except (KeyError, ValueError, TypeError) as err:  # a version-1 file without a checksum
            raise GraphnetError(f"is damaged: {_brief(err)}", file=self.path) from None

    def _read(self, contents, attrs):
        self.iteration = int(attrs["iteration"])
        self.epoch = int(attrs["epoch"])
        self.loss = float(attrs.get("loss", float("nan")))
        self.dtype = str(attrs["dtype"])
        self.netdef = json.loads(attrs["netdef"])
        # Snapshots written before the shapes were recorded have none: the data layers tell.
        self.inputs = json.loads(attrs["inputs"]) if "inputs" in attrs else None
        self.params = {name[len("params/"):]: data for name, (_, data) in contents.items()
                       if name.startswith("params/") and data is not None}
        self.solver_attrs = {k: json.loads(v) for k, v in contents["solver"][0].items()}
        self.solver_arrays = {name[len("solver/"):]: data for name, (_, data) in contents.items()
                              if name.startswith("solver/") and data is not None}
        self.rng_state = json.loads(contents["rng"][0]["backend"])
        self.positions = {}
        for name, (group_attrs, data) in contents.items():
            parts = name.split("/")
            if len(parts) == 3 and parts[0] == "layers" and data is None:
                datasets = {n.split("/")[-1]: d for n, (_, d) in contents.items()
                            if n.startswith(name + "/") and d is not None}
                self.positions[(parts[1], parts[2])] = (group_attrs, datasets)

    def close(self):
        """Nothing stays open: the file was read whole when the snapshot was made."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def finite(self):
        """Whether every parameter is a finite number."""
        return all(np.isfinite(v).all() for v in self.params.values())

    def largest(self):
        """The largest absolute finite value of any parameter."""
        values = [np.abs(v[np.isfinite(v)]).max(initial=0.0) for v in self.params.values()]
        return float(max(values, default=0.0))

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
                if (tag, layer.name) not in self.positions:
                    raise GraphnetError(f"has no saved position for layer '{layer.name}' of the "
                                        f"{tag} net", file=self.path)
                attrs, datasets = self.positions[(tag, layer.name)]
                for name in layer.state_attrs:
                    current = getattr(layer, name)
                    if name not in attrs and name not in datasets:
                        raise GraphnetError(f"has no '{name}' for layer '{layer.name}' of the "
                                            f"{tag} net", file=self.path)
                    value = _read_value(attrs, datasets, name, current)
                    if hasattr(current, "shape") and not isinstance(current, np.ndarray):
                        value = net.backend.asarray(value, dtype=current.dtype)
                    setattr(layer, name, value)


def _brief(err):
    text = " ".join(str(err).split()) or type(err).__name__
    return text if len(text) <= 120 else text[:117] + "..."
