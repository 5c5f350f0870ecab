"""`graphnet import-caffe`: a Caffe net (and solver, and weights) as a graphnet netdef.

    graphnet import-caffe lenet_train_test.prototxt --solver lenet_solver.prototxt -o lenet.yaml
    graphnet import-caffe deploy.prototxt --weights bvlc_alexnet.caffemodel -o alexnet.yaml

writes the netdef, and with --weights a weights file beside it (alexnet.h5) that
`graphnet solve --weights` and `graphnet.load` take.
"""

import os

import yaml

from ..errors import GraphnetError
from .convert import convert_net
from .solver import convert_solver
from .text_format import parse


def read_prototxt(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise GraphnetError("no such file", file=path) from None
    except (OSError, UnicodeDecodeError) as err:
        raise GraphnetError(f"cannot be read as text ({err})", file=path) from None
    return parse(text, path)


def _flow(value):
    return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=10**9,
                          allow_unicode=True).strip().removesuffix("\n...").strip()


def netdef_text(name, entries, sources, solver=None, breaks=(), seed=None, notes=()):
    """The YAML of the netdef: a flow mapping per layer, each under comments saying where
    it came from."""
    lines = [f"# Imported from {' and '.join(sources)} by graphnet import-caffe."]
    lines += [f"# {note}" for note in notes]
    lines.append(f"name: {_flow(name)}")
    if seed is not None:
        lines.append(f"seed: {seed}")
    lines.append("layers:")
    for entry in entries:
        lines += [f"  # {c}" for c in entry.comments]
        lines.append(f"  - {_flow(entry.fields)}")
    if solver:
        lines.append("solver:")
        lines += [f"  {key}: {_flow(value)}" for key, value in solver.items()]
    if breaks:
        lines.append("coffee_breaks:")
        lines += [f"  - {_flow(b)}" for b in breaks]
    return "\n".join(lines) + "\n"


def import_caffe(net_path, output, *, solver_path=None, weights_path=None, data=None,
                 skip_unsupported=False):
    """Write the netdef (and weights) of a Caffe net; returns the lines to print."""
    name, entries, warnings, _ = convert_net(read_prototxt(net_path), net_path, data,
                                             skip_unsupported)
    sources, notes, solver, breaks, seed = [net_path], [], None, [], None
    if solver_path:
        has_test = any(e.fields.get("phase") == "test" or "include" in e.fields for e in entries)
        solver, breaks, seed, solver_notes, more = convert_solver(
            read_prototxt(solver_path), solver_path, skip_unsupported, has_test)
        sources.append(solver_path)
        notes += solver_notes
        warnings += more
    notes += [f"left out: {w}" for w in warnings]
    text = netdef_text(name, entries, sources, solver, breaks, seed, notes)
    os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
    with open(output, "w", encoding="utf-8") as f:
        f.write(text)
    said = [f"{output}: {len(entries)} layers from {net_path}"
            + (f", solver from {solver_path}" if solver_path else "")]
    said += [f"warning: {w}" for w in warnings]
    if weights_path:
        said.append(write_weights(output, weights_path))
    return said


def write_weights(netdef_path, weights_path):
    """The caffemodel's blobs as a graphnet weights file beside the netdef (same stem, .h5)."""
    from ..io.snapshot import sample_shapes, save_weights
    from ..net import Net
    from ..netdef import load_netdef
    from .weights import map_weights, read_caffemodel
    caffe_layers = read_caffemodel(weights_path)
    netdef = load_netdef(netdef_path)
    train = Net(netdef.name, netdef.layers, phase="train", dtype=netdef.dtype, seed=netdef.seed)
    nets = [train]
    if any(l.phase == "test" or l.include or l.exclude for l in netdef.layers):
        nets.append(Net(netdef.name, netdef.layers, phase="test", dtype=netdef.dtype,
                        seed=netdef.seed, share_with=train))
    params, unused = {}, None
    for net in nets:
        found, left = map_weights(caffe_layers, net, weights_path)
        params.update(found)
        unused = set(left) if unused is None else unused & set(left)
    wanted = {p.key for net in nets for p in net.owned_params}
    missing = sorted(wanted - set(params))
    path = os.path.splitext(netdef_path)[0] + ".h5"
    save_weights(path, params, dtype=train.backend.dtype, inputs=sample_shapes(nets[-1]))
    return (f"{path}: {len(params)} parameters from {len(caffe_layers)} layers of {weights_path}"
            + (f"; not in the net: {', '.join(sorted(unused))}" if unused else "")
            + (f"; not in the model (fillers): {', '.join(missing)}" if missing else ""))


def command(args):
    data = {}
    for item in args.data:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise GraphnetError(f"must be NAME=PATH, got {item!r}", field="--data")
        data[name] = path
    for line in import_caffe(args.prototxt, args.output, solver_path=args.solver,
                             weights_path=args.weights, data=data,
                             skip_unsupported=args.skip_unsupported):
        print(line)
