"""ONNX export of a deploy net: one ONNX graph, checked with full shape inference.

    from graphnet.export import export_onnx
    model = export_onnx(net, "lenet.onnx")          # net: built with phase="test", Input sources

What the graph is:

- **Inputs** are the Input layers' tops that some node reads, float32, with a free batch
  axis "N". A top that reaches an LSTM or RNN is time-major, (T, N, ...), and both axes
  are free. Indices (Embed's, Index2Onehot's) stay numbers, as in graphnet.
- **Outputs** are the net's outputs (blobs no layer reads), under their blob names.
- **Parameters** are initializers holding the net's current values. They are always
  float32: onnxruntime's CPU kernels for LSTM, RNN, Conv and the pools take nothing else,
  so a float64 net is exported in float32 (the model's doc_string says so).
- **Recurrent state**: each LSTM (RNN) adds inputs `<layer>/hidden` (and `<layer>/cell`),
  (N, H), the state before the first step, and outputs `<layer>/hidden_next` (and
  `<layer>/cell_next`), the state after the last. A caller carries them from one call to
  the next and passes zeros to start a sequence. ONNX's LSTM cannot reset a stream in the
  middle of a call, so the `cont` blob is not an input at all: within a call every step
  continues the one before (cont = 1), and a model fed a `cont` is refused by onnxruntime
  ("invalid input name"), never silently ignored.
- Splits, Identity and test-phase Dropout are the same value under another name; in-place
  layers get fresh value names (ONNX values are written once); a fused `neuron:` is one
  more node after its layer.

A layer ONNX cannot express is one GraphnetError naming the layer and its type. A layer
of one's own (a plugin's) exports when its class has a method with a converter's contract:

    def to_onnx(self, graph, x, y):      # x: the bottoms' value names, y: the tops'
        graph.node("Mul", [x[0], graph.const("factor", [self.factor])], out=y[0])
"""

import numpy as np

from ..errors import GraphnetError
from .onnx_registry import CONVERTERS, neuron_node

DEFAULT_OPSET = 17
# The oldest IR version each opset needs (onnx/onnx docs/Versioning.md): the model says no
# newer IR than it must, so older runtimes load it (onnxruntime 1.12 reads IR 8, opset 17).
IR_VERSIONS = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10, 22: 10, 23: 11, 24: 12, 25: 13, 26: 13,
               27: 13, 28: 14}
SEQUENCE_LAYERS = ("LSTM", "RNN")
def import_onnx():
    try:
        import onnx
    except ImportError:
        raise GraphnetError("ONNX export needs the onnx package: pip install graphnet[onnx]") \
            from None
    return onnx


def export_onnx(net, path=None, opset=DEFAULT_OPSET):
    """The ONNX ModelProto of `net` (a built test-phase net with Input sources), checked by
    onnx.checker with full shape inference; written to `path` when one is given."""
    onnx = import_onnx()
    from . import onnx_layers, onnx_vision  # noqa: F401  (they register the converters)
    newest = min(max(IR_VERSIONS), onnx.defs.onnx_opset_version())
    if opset not in IR_VERSIONS or opset > newest:
        raise GraphnetError(f"must be {min(IR_VERSIONS)} to {newest} "
                            f"(onnx {onnx.__version__}), got {opset}", field="opset")
    if net.phase != "test":
        raise GraphnetError(f"export needs the net built for the test phase (Dropout off, "
                            f"BatchNorm's running statistics), not '{net.phase}'", net=net.name)
    model = OnnxGraph(onnx, net).build(opset)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save(model, str(path))
    return model


def _place(net, layer, field=None):
    """Where a layer's error points: its netdef file and line (of `field` if known)."""
    file, line = getattr(layer, "_where", (None, None))
    line = getattr(layer, "_field_lines", {}).get(field, line)
    return {"file": file, "line": line, "layer": layer.name, "field": field, "net": net.name}


def _unsupported(net, layer):
    """The one-line error for a layer ONNX cannot express, saying why."""
    kind = type(layer).__name__
    if layer.is_loss:
        why = "a loss is for training; a deploy net ends in the prediction (Softmax)"
    elif layer.has_stats:
        why = "a statistic is for training and validation"
    elif layer.is_source:
        why = "a data layer; a deploy net takes its data from Input layers"
    elif not layer.tops or kind.endswith("Output"):
        why = "it writes to files or memory, not to the net's outputs"
    elif not type(layer).__module__.startswith("graphnet."):
        why = (f"it comes from {type(layer).__module__}, and its class has no "
               f"to_onnx(self, graph, x, y) method")
    else:
        why = "no ONNX operator computes it"
    return GraphnetError(f"{kind} cannot be exported to ONNX: {why}", **_place(net, layer))


def _converter(layer):
    """The layer's own `to_onnx` hook, or the converter registered for its type."""
    hook = getattr(layer, "to_onnx", None)
    if hook is not None:
        return lambda graph, layer, x, y: hook(graph, x, y)
    return CONVERTERS.get(type(layer).__name__)


def _sequence_blobs(net):
    """The blobs that flow into an LSTM or RNN: time-major (T, N, ...)."""
    wanted = set()
    for layer in reversed(net.layers):
        if type(layer).__name__ in SEQUENCE_LAYERS or wanted.intersection(layer.tops):
            wanted.update(layer.bottoms)
    return wanted


class OnnxGraph:
    """The nodes, initializers, inputs and outputs of one export, and the names of values.

    Converters call `node`, `const`, `state` and read `shape`, `dynamic` and `param`."""

    def __init__(self, onnx, net):
        self.onnx, self.net = onnx, net
        self.nodes, self.initializers, self.state_inputs, self.state_outputs = [], [], [], []
        self.values = {}     # blob -> the ONNX value that holds it now
        self.dynamic = {}    # blob -> how many leading axes are free: 1 (N) or 2 (T, N)
        self.last_writer = {t: layer for layer in net.layers for t in layer.tops}
        # An input no layer changes is no output (no layer reads it either).
        self.outputs = [b for b in net.outputs if type(self.last_writer[b]).__name__ != "Input"]
        self.used = set(self.outputs) | set(net.inputs)
        self.node_names = set()
        self.layer = None
        self.conts = []      # (recurrent layer, its cont input): no node reads them

    # --- what converters use ---------------------------------------------------------

    def shape(self, blob):
        return self.net.blobs[blob].shape

    def error(self, message, field=None):
        """A GraphnetError at the current layer: what about it has no ONNX form."""
        return GraphnetError(message, **_place(self.net, self.layer, field))

    def param(self, name):
        """The current layer's parameter as a float32 host array."""
        data = self.net.backend.to_host(self.layer.params[name].data)
        return np.asarray(data, dtype=np.float32)

    def fresh(self, hint):
        name, i = hint, 1
        while name in self.used:
            i += 1
            name = f"{hint}_{i}"
        self.used.add(name)
        return name

    def node(self, op, inputs, out=None, outputs=1, **attrs):
        """Add a node of the current layer; returns its output name (a list if outputs > 1).
        `out` names the (first) output; the others get fresh names."""
        names = [out or self.fresh(f"{self.layer.name}/{op}")]
        names += [self.fresh(f"{self.layer.name}/{op}_{i}") for i in range(1, outputs)]
        label = self.layer.name if self.layer.name not in self.node_names else f"{self.layer.name}/{op}"
        i, base = 1, label
        while label in self.node_names:
            i += 1
            label = f"{base}_{i}"
        self.node_names.add(label)
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), names, name=label, **attrs))
        return names[0] if outputs == 1 else names

    def const(self, hint, values, dtype=np.float32):
        """An initializer named after the current layer: float32 by default, or int64."""
        name = self.fresh(f"{self.layer.name}/{hint}")
        array = np.ascontiguousarray(np.asarray(values, dtype=dtype))
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def state(self, name, size):
        """A recurrent state of the current layer, (N, size): the names of the input
        `<layer>/<name>` (before the first step) and the output `<layer>/<name>_next`."""
        hint = f"{self.layer.name}/{name}"
        given, after = self.fresh(hint), self.fresh(f"{hint}_next")
        self.state_inputs.append(self._info(given, ["N", size]))
        self.state_outputs.append(self._info(after, ["N", size]))
        return given, after

    def dims(self, blob):
        """The blob's shape with its free axes named: (N, ...) or (T, N, ...)."""
        k = self.dynamic[blob]
        return list(("T", "N")[2 - k:]) + list(self.shape(blob)[k:])

    def _info(self, name, dims):
        return self.onnx.helper.make_tensor_value_info(name, self.onnx.TensorProto.FLOAT, dims)

    # --- building ----------------------------------------------------------------------

    def _top_name(self, layer, top):
        """Outputs keep their blob's name at its last writer; ONNX values are written once,
        so an in-place layer's earlier values get `<blob>/<layer>`."""
        if top in self.outputs and self.last_writer[top] is layer and top not in self.net.inputs:
            return top
        if top not in self.used:
            self.used.add(top)
            return top
        return self.fresh(f"{top}/{layer.name}")

    def build(self, opset):
        helper, net = self.onnx.helper, self.net
        sequences = _sequence_blobs(net)
        for layer in net.layers:
            self.layer = layer
            kind = type(layer).__name__
            if kind == "Input":
                for top in layer.tops:
                    self.values[top] = top
                    self.dynamic[top] = 2 if top in sequences else 1
                continue
            convert = _converter(layer)
            if convert is None:
                raise _unsupported(net, layer)
            x = [self.values[b] for b in layer.bottoms]
            for top in layer.tops:
                self.dynamic[top] = self.dynamic[layer.bottoms[0]]
            y = [self._top_name(layer, t) for t in layer.tops]
            neuron = getattr(layer, "neuron", None)
            neuron = None if neuron is None or neuron.type == "identity" else neuron
            raw = [self.fresh(f"{layer.name}/linear") for _ in y] if neuron else y
            made = convert(self, layer, x, raw) or raw
            if neuron:
                made = [neuron_node(self, neuron, r, out) for r, out in zip(made, y)]
            self.values.update(zip(layer.tops, made))
        outputs = []
        for blob in self.outputs:
            value = self.values[blob]
            # A renamed value (Split, Identity, Dropout) as an output gets the blob's name;
            # an input changed in place keeps the name of its last layer's value.
            if value != blob and blob not in net.inputs:
                self.layer = self.last_writer[blob]
                value = self.node("Identity", [value], out=blob)
            outputs.append(self._info(value, self.dims(blob)))
        read = {v for node in self.nodes for v in node.input}
        for self.layer, cont in self.conts:
            if cont in read:   # a caller would pass it, and the LSTM would not see it
                raise self.error(f"'{cont}' is read by other layers too, so the model would "
                                 f"take it, but its LSTM or RNN cannot: it starts each call from "
                                 f"the state inputs and continues every step", "bottoms")
        inputs = [self._info(t, self.dims(t)) for t in net.inputs if t in read]
        graph = helper.make_graph(self.nodes, net.name, inputs + self.state_inputs,
                                  outputs + self.state_outputs, self.initializers)
        from .. import __version__
        model = helper.make_model(graph, producer_name="graphnet", producer_version=__version__,
                                  opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = IR_VERSIONS[opset]
        if net.backend.dtype != np.float32:
            model.doc_string = (f"exported from a {net.backend.dtype} net in float32: "
                                f"parameters and values rounded to float32")
        return model


def command(args):
    """`graphnet export NETDEF --weights S -o model.onnx [--opset N]`."""
    import graphnet
    import_onnx()   # before the net is loaded: a missing package is the first thing said
    net = graphnet.load(args.netdef, args.weights)
    try:
        model = export_onnx(net, args.output, opset=args.opset)
    except GraphnetError as err:
        if err.field == "opset":
            err.field = "--opset"   # the command's word for it
        raise
    note = "; float64 parameters saved as float32" if net.backend.dtype != np.float32 else ""
    names = [[v.name for v in values] for values in (model.graph.input, model.graph.output)]
    print(f"wrote {args.output} (opset {args.opset}): inputs {', '.join(names[0])}; "
          f"outputs {', '.join(names[1])}{note}")
