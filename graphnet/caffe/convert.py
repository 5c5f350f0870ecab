"""A parsed Caffe NetParameter (prototxt) as graphnet netdef layers, in either format.

What a layer carries besides its own *_param (bottoms, tops, include/exclude, loss_weight,
propagate_down, param {lr_mult decay_mult name}) is mapped here; layers.py maps the rest.
Caffe runs any layer in place; a graphnet type that cannot (BatchNorm, Convolution...)
gets a top of its own, named after the layer, and later readers of the blob read it.
"""

from ..errors import GraphnetError
from ..layers import LAYERS
from .caffe_layer import PHASES, CaffeLayer, Unsupported, is_true, phase_rule
from .layers import CONVERTERS, GRAPHNET_MULTS, PARAM_NAMES, SOURCES

NET_IGNORED = ("name", "debug_info")


class Entry:
    """One graphnet layer: its netdef mapping and the comment lines above it."""

    def __init__(self, fields, comments, caffe_name, caffe_type):
        self.fields, self.comments = fields, comments
        self.caffe_name, self.caffe_type = caffe_name, caffe_type


class Context:
    """Data paths given with --data, and which were used."""

    def __init__(self, data):
        self.data, self.used = dict(data or {}), set()

    def _key(self, layer):
        phase = _layer_phase(layer)
        for key in ((f"{layer.name}:{phase}",) if phase else ()) + (layer.name,):
            if key in self.data:
                return key
        return None

    def given(self, layer):
        return self._key(layer) is not None

    def source(self, layer, original):
        key = self._key(layer)
        if key is None:
            return original or f"SET-ME/{layer.name}.h5"
        self.used.add(key)
        return self.data[key].replace("{phase}", _layer_phase(layer) or "")


def _layer_phase(layer):
    rules = layer.msg.all("include")
    if len(rules) == 1 and rules[0].keys() == ["phase"]:
        return PHASES.get(rules[0].get("phase"))
    return PHASES.get(layer.msg.get("phase"))


def legacy_input(msg, file):
    """NetParameter's input / input_dim / input_shape as an Input layer named "input"."""
    names = [str(n) for n in msg.all("input")]
    if not names:
        return None
    dims = [int(d) for d in msg.all("input_dim")]
    shapes = [[int(d) for d in s.all("dim")] for s in msg.all("input_shape")]
    if not shapes and dims:
        if len(dims) != 4 * len(names):
            raise GraphnetError(f"input_dim: needs 4 values per input ({4 * len(names)}), got "
                                f"{len(dims)}", file=file, line=msg.line_of("input_dim"))
        shapes = [dims[4 * i:4 * i + 4] for i in range(len(names))]
    if not shapes:
        return None   # old .caffemodels name inputs without shapes: Caffe drops them too
    if len(shapes) != len(names):
        raise GraphnetError(f"input_shape: needs one shape per input ({len(names)}), got "
                            f"{len(shapes)}", file=file, line=msg.line_of("input_shape"))
    fields = {"name": "input", "type": "Input", "tops": names, "shapes": shapes}
    return Entry(fields, [f"{file}:{msg.line_of('input')}: the net's input fields"], "input", "Input")


def convert_net(msg, file, data=None, skip_unsupported=False):
    """(net name, [Entry], [warning], Context) for the NetParameter `msg` read from `file`."""
    unsupported = Unsupported(file, skip_unsupported)
    modern, v1 = msg.all("layer"), msg.all("layers")
    if modern and v1:
        raise GraphnetError("has both 'layer' and V1 'layers' entries (Caffe refuses such a net "
                            "too)", file=file, line=msg.line_of("layers"))
    for key in msg.keys():
        if key in ("force_backward", "state") and msg.get(key) not in (False, "false"):
            unsupported(f"{key}: no equivalent in a netdef", msg.line_of(key))
        elif key not in NET_IGNORED + ("layer", "layers", "input", "input_dim", "input_shape",
                                       "force_backward", "state"):
            unsupported(f"{key}: not a NetParameter field graphnet knows", msg.line_of(key))
    ctx = Context(data)
    entries = [e for e in [legacy_input(msg, file)] if e]
    blob_names, shared = {}, {}
    taken = {t for e in entries for t in e.fields["tops"]}
    for raw in modern or v1:
        layer = CaffeLayer(raw, bool(v1), unsupported)
        if v1 and raw.get("layer") is not None:
            raise GraphnetError("a V0 layer (layers { layer { ... } }): upgrade it with Caffe's "
                                "upgrade_net_proto_text first", file=file, line=raw.line)
        entry = convert_layer(layer, ctx, blob_names, shared, taken, file)
        if entry is not None:
            entries.append(entry)
    unused = set(ctx.data) - ctx.used
    if unused:
        raise GraphnetError(f"names no data layer of the net: {', '.join(sorted(unused))}",
                            field="--data")
    return str(msg.get("name", "net")), entries, unsupported.warnings, ctx


def convert_layer(layer, ctx, blob_names, shared, taken, file):
    """One Caffe layer as an Entry (None if it is left out), blobs renamed where needed."""
    layer.comments = []
    layer.tops = [str(t) for t in layer.msg.all("top")]
    caffe_bottoms = [str(b) for b in layer.msg.all("bottom")]
    bottoms = [blob_names.get(b, b) for b in caffe_bottoms]
    if layer.type in SOURCES:
        gtype, convert = "HDF5Data", SOURCES[layer.type]
    elif layer.type in CONVERTERS:
        gtype, convert = CONVERTERS[layer.type]
    else:
        layer.unsupported(f"type: Caffe layer type '{layer.type}' has no equivalent in graphnet",
                          layer.msg.line_of("type"))
        return None
    out = {"name": layer.name, "type": gtype}
    if layer.type in SOURCES:
        convert(layer, out, ctx)
    elif convert is not None:
        convert(layer, out)
    else:   # sigmoid_param, tanh_param... hold only Caffe's engine choice
        for key in [k for k in layer.msg.keys() if k.endswith("_param") and k != "loss_param"]:
            if set(layer.msg.get(key).keys()) <= {"engine"}:
                layer.taken.add(key)
    gtype = out["type"]
    fields = {"name": out.pop("name"), "type": out.pop("type")}
    if bottoms:
        fields["bottoms"] = bottoms
    tops = []
    for top in layer.tops:
        if top in caffe_bottoms and not LAYERS[gtype].inplace:
            new = layer.name if layer.name not in taken else f"{top}_{layer.name}"
            blob_names[top] = new
            layer.comments.append(f"in place in Caffe: its top '{top}' is '{new}' here")
            top = new
        elif top in caffe_bottoms:
            top = blob_names.get(top, top)   # in place on the blob as graphnet names it
        else:
            blob_names.pop(top, None)
        taken.add(top)
        tops.append(top)
    if tops:
        fields["tops"] = tops
    _rules(layer, fields)
    loss_weight = [float(w) for w in layer.all("loss_weight")]
    if loss_weight:
        fields["loss_weight"] = loss_weight
    down = layer.all("propagate_down")
    if down:
        fields["propagate_down"] = [is_true(d) for d in down]
    fields.update(out)
    _params(layer, gtype, fields, shared, len(bottoms))
    for key in layer.msg.keys():
        if key not in layer.taken:
            layer.unsupported(f"{key}: no equivalent in graphnet", layer.msg.line_of(key))
    comment = f"{file}:{layer.line}: {layer.name} ({layer.type})"
    return Entry(fields, [comment] + layer.comments, layer.name, layer.type)


def _rules(layer, fields):
    include, exclude = layer.all("include"), layer.all("exclude")
    phase = layer.get("phase")
    if len(include) == 1 and include[0].keys() == ["phase"] and not exclude and phase is None:
        fields["phase"] = PHASES.get(include[0].get("phase"))
        return
    if phase is not None:
        fields["phase"] = PHASES.get(phase)
    if include:
        fields["include"] = [phase_rule(r, layer) for r in include]
    if exclude:
        fields["exclude"] = [phase_rule(r, layer) for r in exclude]


def _params(layer, gtype, fields, shared, n_bottoms):
    """param {lr_mult decay_mult name}: multipliers where they differ from graphnet's own,
    and sharing by name, which graphnet does a whole layer at a time (param_key)."""
    specs = layer.param_specs()
    names = list(PARAM_NAMES.get(gtype, []))
    if gtype in ("Scale", "Bias") and n_bottoms == 2:
        names = ["bias"] if gtype == "Scale" else []
    if gtype in ("Convolution", "Deconvolution", "InnerProduct", "Embed") and not fields.get("bias", True):
        names = names[:1]
    if gtype == "Scale" and not fields.get("bias"):
        names = names[:1]
    if len(specs) > len(names):
        layer.unsupported(f"param: {len(specs)} given, but the layer has {len(names)} "
                          f"parameter{'s' * (len(names) != 1)}", layer.msg.line_of("param")
                          if not layer.v1 else layer.line)
        specs = specs[:len(names)]
    overrides = {}
    for pname, spec in zip(names, specs + [{}] * (len(names) - len(specs))):
        if gtype == "BatchNorm":
            continue    # running statistics: graphnet never learns them (Caffe sets lr_mult 0)
        want = (float(spec.get("lr_mult", 1.0)), float(spec.get("decay_mult", 1.0)))
        if want != GRAPHNET_MULTS.get((gtype, pname), (1.0, 1.0)):
            overrides[pname] = {"lr_mult": want[0], "decay_mult": want[1]}
    if overrides:
        fields["param"] = overrides
    given = [s.get("name") for s in specs]
    if not any(given):
        return
    owner = {shared[n] for n in given if n in shared}
    key = [str(n) if n else None for n in given] + [None] * (len(names) - len(given))
    if not owner:
        shared.update({n: (layer.name, tuple(key)) for n in given if n})
        return
    if len(owner) == 1 and next(iter(owner))[1] == tuple(key) and None not in key:
        fields["param_key"] = next(iter(owner))[0]
        return
    layer.unsupported("param.name: shares only some of the layer's parameters, or in another "
                      "order; graphnet shares all of a layer's parameters (param_key)",
                      layer.msg.line_of("param") if not layer.v1 else layer.line)
