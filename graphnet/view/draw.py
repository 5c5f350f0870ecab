"""`graphnet draw NETDEF [--phase test] -o FILE`: a net as Caffe's draw_net draws it. Layers
are boxes (name, type, the fields that differ from their defaults), blobs are the edges
between them, named and with their shapes. A layer that changes its blob in place is folded
into the box of the layer that made the blob; the Splits the net inserts where a blob fans
out are left out unless asked for. Without --phase both phases are drawn in one graph, the
layers and blobs of only one phase told apart.

`.dot` is written directly; `.svg`, `.png` and `.pdf` are made by Graphviz's `dot` program.
"""

import copy
import os
import shutil
import subprocess
from collections import Counter

from ..errors import GraphnetError
from ..spec import Kind, short

FORMATS = ("dot", "svg", "png", "pdf")
BASE_FIELDS = ("name", "type", "bottoms", "tops", "phase", "include", "exclude", "param_key")
MAX_FIELDS = 4
COLOURS = {"data": "#cfe2f3", "loss": "#f4cccc", "statistic": "#fff2cc", "Convolution": "#d9ead3",
           "Deconvolution": "#d9ead3", "Pooling": "#fce5cd", "Split": "#f3f3f3"}
PHASE_COLOUR = {"train": "#1f5fbf", "test": "#b45f06"}
PHASE_STYLE = {"train": "penwidth=2", "test": 'style="dashed"'}


def phase_layers(netdef, phase):
    """(layers in running order, {blob: shape} or None) of one phase. The shapes need the
    net built, which needs its data; without them the net is drawn without shapes, and the
    reason is returned as a third item."""
    from ..net import Net
    try:
        net = Net(netdef.name, netdef.layers, phase=phase, backend="numpy", dtype=netdef.dtype,
                  seed=netdef.seed)
        return net.layers, {name: blob.shape for name, blob in net.blobs.items()}, None
    except GraphnetError as err:
        layers = _ordered_without_shapes(netdef, phase)
        return layers, None, str(err)


def _ordered_without_shapes(netdef, phase):
    """The layers of `phase` chosen, ordered and split as Net does, without building the net
    (whose shapes need the data files)."""
    from ..topology import included, insert_splits, mark_kept_tops, sort_layers

    def error(layer, message, field=None):
        return GraphnetError(message, layer=layer.name, field=field, file=netdef.path)
    layers = [copy.copy(l) for l in netdef.layers if included(l, phase, set(), 0)]
    for layer in layers:
        layer.tops = list(layer.tops) or ([layer.name] if layer.is_loss or layer.has_stats else [])
        layer.bottoms = list(layer.bottoms)
    loss_weights = {t: 1.0 for l in layers if l.is_loss for t in l.tops[:1]}
    return insert_splits(sort_layers(mark_kept_tops(layers), error), loss_weights)


def _value(value):
    if isinstance(value, Kind):
        return value.type
    if isinstance(value, (list, tuple)) and value and all(type(v) is int for v in value):
        return "×".join(map(str, value))  # a kernel, a stride: as the shapes are written
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_value(v)}" for k, v in value.items())
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    return short(value)


def main_fields(layer):
    """'field value' for the fields a netdef set away from their defaults (a few)."""
    shown = []
    for name, field in type(layer).fields.items():
        if name in BASE_FIELDS:
            continue
        value = getattr(layer, name)
        if field.required or repr(value) != repr(_default(field)):
            if name == "neuron" and getattr(value, "type", None) == "identity":
                continue
            text = _value(value)
            shown.append(f"{name} {text if len(text) <= 30 else text[:29] + '…'}")
    return shown[:MAX_FIELDS] + (["…"] if len(shown) > MAX_FIELDS else [])


def _default(field):
    """A field's default as the layer holds it (kernel 1 is held as [1, 1])."""
    try:
        return field.convert(field.default) if field.default is not None else None
    except (ValueError, TypeError):
        return field.default


def _kind(layer):
    kind = type(layer).__name__
    if layer.is_source:
        return "data"
    if layer.is_loss:
        return "loss"
    if layer.has_stats:
        return "statistic"
    return kind


def _shape(shapes, blob):
    if shapes is None or blob not in shapes:
        return None
    return "×".join(map(str, shapes[blob]))


def graph_of(layers, shapes, splits=False):
    """One phase as ({node: label lines}, {node: kind}, [(from, to, blob, shape)]); a node is
    a layer's name, or 'blob:' and the name of a blob no layer reads (an output)."""
    lines, kinds, edges = {}, {}, []
    writer = {}                 # blob -> node that last wrote it
    origin = {}                 # a hidden split's top -> the blob it copies
    read = set()
    for layer in layers:
        if not splits and type(layer).__name__ == "Split":
            for top in layer.tops:
                origin[top] = origin.get(layer.bottoms[0], layer.bottoms[0])
            continue
        if len(layer.bottoms) == 1 and layer.tops == layer.bottoms and layer.bottoms[0] in writer:
            blob = origin.get(layer.bottoms[0], layer.bottoms[0])
            lines[writer[blob]].append(f"+ {layer.name}: {type(layer).__name__} on {blob}"
                                       + "".join(f", {f}" for f in main_fields(layer)))
            continue
        node = layer.name
        lines[node] = [layer.name, type(layer).__name__, *main_fields(layer)]
        kinds[node] = _kind(layer)
        for bottom in layer.bottoms:
            blob = origin.get(bottom, bottom)
            read.add(blob)
            if blob in writer and writer[blob] != node:
                edges.append((writer[blob], node, blob, _shape(shapes, bottom)))
        for top in layer.tops:
            writer[top] = node
    for blob, node in writer.items():
        if blob not in read and blob not in origin:
            out = f"blob:{blob}"
            lines[out], kinds[out] = [blob], "output"
            edges.append((node, out, blob, _shape(shapes, blob)))
    return lines, kinds, edges


def dot(netdef, phases, splits=False):
    """The DOT text of the net in the given phases, and the notes to print (shapes left out)."""
    graphs, notes = {}, []
    for phase in phases:
        layers, shapes, why = phase_layers(netdef, phase)
        if why:
            notes.append(f"{phase} phase drawn without shapes: {why}")
        graphs[phase] = graph_of(layers, shapes, splits)
    both = len(phases) > 1
    out = [f'digraph "{_esc(netdef.name)}" {{',
           '  graph [rankdir=TB, fontname="Helvetica", fontsize=12, labelloc=t, '
           f'label="{_esc(_title(netdef.name, phases))}"];',
           '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, '
           'fillcolor="#eeeeee"];',
           '  edge [fontname="Helvetica", fontsize=9];']
    nodes = {}
    for phase, (lines, kinds, _) in graphs.items():
        for node, text in lines.items():
            nodes.setdefault((node, tuple(text), kinds[node]), []).append(phase)
    ids, count = {}, Counter(node for node, _, _ in nodes)
    for (node, text, kind), where in nodes.items():
        # A layer that differs between the phases (a data layer's source) is two boxes.
        name = node if count[node] == 1 else f"{node} ({'/'.join(where)})"
        for phase in where:
            ids[(phase, node)] = name
        label = list(text) + ([f"({where[0]} only)"] if both and len(where) == 1 else [])
        attrs = [f'label="{_esc(chr(10).join(label))}"']
        if kind == "output":
            attrs.append('shape=plaintext, style=""')
        else:
            attrs.append(f'fillcolor="{COLOURS.get(kind, "#eeeeee")}"')
        if both and len(where) == 1:
            phase = where[0]
            attrs.append(f'fontcolor="{PHASE_COLOUR[phase]}"' if kind == "output" else
                         f'color="{PHASE_COLOUR[phase]}", ' + ("penwidth=2" if phase == "train"
                                                              else 'style="rounded,filled,dashed"'))
        out.append(f'  "{_esc(name)}" [{", ".join(attrs)}];')
    edges = {}
    for phase, (_, _, phase_edges) in graphs.items():
        for a, b, blob, shape in phase_edges:
            edges.setdefault((ids[(phase, a)], ids[(phase, b)], blob), {})[phase] = shape
    for (a, b, blob), shapes in edges.items():
        label = [blob] + _shape_lines(shapes, both)
        attrs = [f'label="{_esc(chr(10).join(label))}"']
        if both and len(shapes) == 1:
            phase = next(iter(shapes))
            attrs.append(f'color="{PHASE_COLOUR[phase]}", {PHASE_STYLE[phase]}')
        out.append(f'  "{_esc(a)}" -> "{_esc(b)}" [{", ".join(attrs)}];')
    out.append("}")
    return "\n".join(out) + "\n", notes


def _shape_lines(shapes, both):
    known = {p: s for p, s in shapes.items() if s}
    if len(set(known.values())) == 1 and (len(known) == len(shapes) or not both):
        return [next(iter(known.values()))]
    return [f"{p}: {s}" for p, s in known.items()]


def _title(name, phases):
    if len(phases) == 1:
        return f"{name} ({phases[0]} phase)"
    return f"{name}: train and test phases (blue: train only; dashed: test only)"


def _esc(text):
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render(text, path):
    """Write DOT text, or what Graphviz's dot makes of it, to `path` (whole, then renamed)."""
    fmt = os.path.splitext(path)[1][1:].lower()
    tmp = os.path.join(os.path.dirname(path) or ".", f".{os.path.basename(path)}.tmp{os.getpid()}")
    try:
        if fmt == "dot":
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
        else:
            program = shutil.which("dot")
            if program is None:
                raise GraphnetError(f"a .{fmt} drawing needs Graphviz's dot program, which is not "
                                    "installed (Debian, Ubuntu: apt-get install graphviz); "
                                    "or write a .dot file", field="-o", path=path)
            done = subprocess.run([program, f"-T{fmt}", "-o", tmp], input=text.encode(),
                                  capture_output=True, timeout=120)
            if done.returncode != 0:
                message = " ".join(done.stderr.decode(errors="replace").split())[:200]
                raise GraphnetError(f"Graphviz's dot failed: {message}", field="-o", path=path)
        os.replace(tmp, path)
    except OSError as err:
        raise GraphnetError(f"cannot write it: {err.strerror}", field="-o", path=path) from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def command(args):
    from ..netdef import load_netdef
    fmt = os.path.splitext(args.output)[1][1:].lower()
    if fmt not in FORMATS:
        raise GraphnetError(f"writes {', '.join('.' + f for f in FORMATS)} files, not '.{fmt}'",
                            field="-o", path=args.output)
    netdef = load_netdef(args.netdef, args.overrides)
    text, notes = dot(netdef, [args.phase] if args.phase else ["train", "test"], args.splits)
    render(text, args.output)
    for note in notes:
        print(note)
    print(f"wrote {args.output}")
