"""`graphnet predict`: a trained model's outputs for the samples in files.

    graphnet predict netdefs/mnist.yaml --weights S --input test.h5 --output out.h5
    graphnet predict netdefs/mnist.yaml --weights S --input digits.npy --top-k 3
    graphnet predict netdefs/mnist.yaml --weights S --input 7.png 2.png

Inputs: an .h5 file whose datasets are named as the net's inputs, an .npy file for a net
of one input, or image files (io/images.py), each holding samples as the training files
do: an input that a data layer made is served as that layer serves it in the test phase
(its centre crop, mean and scale), so `--input data/mnist/test.h5` predicts as
`graphnet test` validates. Samples are read and predicted a slice at a
time, so a file larger than memory streams through. Outputs: an .h5 file with a dataset
per output, an .npy file of the one output, or, without --output, the top-k classes of
each sample as lines `sample class probability`.
"""

import os
import sys

import numpy as np

from .deploy import load
from .errors import GraphnetError
from .io.images import as_the_layer_serves, is_image, read_images
from .layers import Input
from .netdef import load_netdef
from .predict import predictor
from .topology import included

SLICE = 10_000  # samples read from a file at a time
SHOWN_FROM = 1_000  # a progress bar for inputs of at least this many samples


def _data_layer(netdef, top):
    """The test-phase data layer whose first top is `top`: its transform applies to it."""
    return next((l for l in netdef.layers if l.is_source and l.tops[:1] == [top]
                 and included(l, "test", set(), 0)), None)


def _open_inputs(paths, net, netdef, pixel_scale):
    """({input: array-like}, count) for the files at `paths`; an .h5 dataset stays on disk."""
    run = predictor(net)
    names = [t for t in run.shapes if t not in run.optional]
    if all(is_image(p) for p in paths):
        if len(names) != 1:
            raise GraphnetError(f"images feed a net of one input; this one has {len(names)}",
                                field="--input")
        data = read_images(paths, run.shapes[names[0]], _data_layer(netdef, names[0]), pixel_scale,
                           net.backend.dtype)
        return {names[0]: data}, len(data)
    if len(paths) > 1:
        raise GraphnetError("give one .h5 or .npy file, or image files", field="--input")
    path = paths[0]
    if not os.path.exists(path):
        raise GraphnetError("no such file", field="--input", path=path)
    if path.endswith(".npy"):
        if len(names) != 1:
            raise GraphnetError(f"an .npy file feeds a net of one input; this one has "
                                f"{', '.join(names)}: give an .h5 file with a dataset for each",
                                field="--input", path=path)
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as err:
            raise GraphnetError(f"not a readable .npy file ({err})", field="--input", path=path) from None
        return {names[0]: array}, len(array)
    if path.endswith((".h5", ".hdf5")):
        import h5py
        try:
            f = h5py.File(path, "r")
        except OSError as err:
            raise GraphnetError(f"not a readable HDF5 file ({err})", field="--input", path=path) from None
        missing = [n for n in names if not isinstance(f.get(n), h5py.Dataset)]
        if missing:
            raise GraphnetError(f"has no dataset '{missing[0]}' for the net's input of that name "
                                f"(it has: {', '.join(f) or 'none'})", field="--input", path=path)
        arrays = {n: f[n] for n in run.shapes if isinstance(f.get(n), h5py.Dataset)}
        return arrays, len(arrays[names[0]])  # the file closes with its last dataset
    raise GraphnetError("must be an .h5, .npy or image file", field="--input", path=path)


def predict_files(netdef_path, weights, inputs, output=None, batch_size=None, top_k=None,
                  outputs=None, overrides=(), backend=None, pixel_scale=1.0):
    """Run the model of (netdef, weights) over the samples in `inputs` (a list of paths);
    write `output` or return the top-k lines."""
    if top_k is not None and output is not None:
        raise GraphnetError("goes without --output: it prints the top classes", field="--top-k")
    if top_k is not None and top_k < 1:
        raise GraphnetError(f"must be 1 or more, got {top_k}", field="--top-k")
    if output is not None and not output.endswith((".h5", ".hdf5", ".npy")):
        raise GraphnetError("must be an .h5 or .npy file", field="--output", path=output)
    netdef = load_netdef(netdef_path, overrides)
    net = load(netdef, weights, backend)
    names = list(outputs) if outputs else list(net.outputs)
    if (output is None or output.endswith(".npy")) and len(names) != 1:
        raise GraphnetError(f"the net has outputs {', '.join(names)}: choose one with --outputs"
                            + (", or write them to an .h5 file" if output else ""), field="--outputs")
    arrays, count = _open_inputs(inputs, net, netdef, pixel_scale)
    images = all(is_image(p) for p in inputs)
    # Files hold samples as the training files did: each is served as its data layer serves
    # them in the test phase (its centre crop, mean and scale), as images are.
    layers = {} if images else {n: l for n in arrays if (l := _data_layer(netdef, n)) is not None}
    from tqdm import tqdm
    results = None
    with tqdm(total=count, unit="sample", disable=True if count < SHOWN_FROM else None,
              file=sys.stderr, leave=False) as bar:
        for start in range(0, count, SLICE):
            part = {n: a[start:start + SLICE] for n, a in arrays.items()}
            for name, layer in layers.items():
                part[name] = as_the_layer_serves(part[name], layer, net.blobs[name].shape[1:],
                                                 net.backend.dtype)
            try:
                found = net.predict(part, outputs=names, batch_size=batch_size)
            except GraphnetError as err:
                err.field = "--input" if err.field == "inputs" else f"--{err.field}".replace("_", "-")
                err.path = err.path or (inputs[0] if err.field == "--input" and len(inputs) == 1 else None)
                raise
            if results is None:
                results = _Results(output, {n: (count, *a.shape[1:]) for n, a in found.items()},
                                   net.backend.dtype)
            results.put(start, found)
            bar.update(len(found[names[0]]))
    if results is None:
        results = _Results(output, {n: (0, *net.blobs[n].shape[1:]) for n in names}, net.backend.dtype)
    return results.finish(names, top_k or 1)


class _Results:
    """Where the outputs go: an .h5 or .npy file written slice by slice, or memory."""

    def __init__(self, path, shapes, dtype):
        self.path, self.file = path, None
        try:
            if path is None:
                self.arrays = {n: np.empty(s, dtype) for n, s in shapes.items()}
            elif path.endswith(".npy"):
                (name, shape), = shapes.items()
                self.arrays = {name: np.lib.format.open_memmap(path, "w+", dtype, shape)}
            else:
                import h5py
                self.file = h5py.File(path, "w")
                self.arrays = {n: self.file.create_dataset(n, s, dtype) for n, s in shapes.items()}
        except OSError as err:
            raise GraphnetError(f"cannot write it ({err.strerror or err})", field="--output",
                                path=path) from None

    def put(self, start, found):
        for name, values in found.items():
            self.arrays[name][start:start + len(values)] = values

    def finish(self, names, top_k):
        if self.file is not None:
            self.file.close()
        elif self.path is not None:
            self.arrays[names[0]].flush()
        if self.path is not None:
            return []
        values = self.arrays[names[0]]
        if values.ndim != 2:
            raise GraphnetError(f"top classes need an output of shape (samples, classes); "
                                f"'{names[0]}' is {values.shape}: write it with --output",
                                field="--top-k")
        k = min(top_k, values.shape[1])
        order = np.argsort(-values, axis=1, kind="stable")[:, :k]
        return [f"{i} {c} {values[i, c]:.6g}" for i in range(len(values)) for c in order[i]]


def command(args):
    """The `graphnet predict` command: prints the top-k lines, or writes --output."""
    outputs = [o for o in args.outputs.split(",") if o] if args.outputs else None
    lines = predict_files(args.netdef, args.weights, args.input, args.output, args.batch_size,
                          args.top_k, outputs, args.overrides, args.backend, args.pixel_scale)
    for line in lines:
        print(line)
