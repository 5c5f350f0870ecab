"""One converter per layer type: graphnet's maths as ONNX nodes (see onnx.py for the graph;
the vision layers are in onnx_vision.py).

Each converter reads the layer's fields and parameters, and writes nodes whose last
output is named as the converter was told (`y`). Shapes are those the net was built
with, except the free leading axes, which ONNX keeps free (Reshape's 0 copies them).
"""

import numpy as np

from .onnx_registry import converts, neuron_node


def int64_const(graph, hint, values):
    return graph.const(hint, values, np.int64)


def apply_steps(graph, x, out, steps):
    """Apply (op, constant hint, constant) steps to x in turn, the last writing `out`."""
    if not steps:
        return graph.node("Identity", [x], out=out)
    for i, (op, hint, value) in enumerate(steps):
        x = graph.node(op, [x, graph.const(hint, value)], out=out if i == len(steps) - 1 else None)
    return x


def channels_axis_fixed(graph, bottom):
    """Channels are axis 1: of a time-major blob (T, N, ...) that is the free axis N."""
    if graph.dynamic[bottom] > 1:
        raise graph.error(f"the channels of time-major '{bottom}' (T, N, ...) would be its "
                          f"free axis N", "bottoms")


def view(graph, x, bottom, shape, out=None):
    """x reshaped to `shape` (whose free axes are those of `bottom`, copied by 0)."""
    k = graph.dynamic[bottom]
    return graph.node("Reshape", [x, int64_const(graph, "shape", [0] * k + list(shape[k:]))], out=out)


# --- compute -----------------------------------------------------------------------------

@converts("InnerProduct")
def inner_product(graph, layer, x, y):
    # axis 1: Flatten + Gemm(transB); axis a > 1: rows of the trailing features, MatMul by W^T.
    bottom = layer.bottoms[0]
    shape, k = graph.shape(bottom), graph.dynamic[bottom]
    if layer.axis < k:
        raise graph.error(f"is {layer.axis}, which would flatten the free axis N of the "
                          f"time-major '{bottom}' (T, N, ...) into the features; use axis: 2",
                          "axis")
    weight = graph.param("weight")
    bias = [graph.const("bias", graph.param("bias"))] if layer.bias else []
    if layer.axis == 1:
        rows = x[0] if len(shape) == 2 else graph.node("Flatten", x, axis=1)
        graph.node("Gemm", [rows, graph.const("weight", weight)] + bias, out=y[0], transB=1)
        return
    rows = x[0]
    if len(shape) > layer.axis + 1:
        rows = graph.node("Reshape", [x[0], int64_const(graph, "shape", [0] * layer.axis + [-1])])
    product = graph.node("MatMul", [rows, graph.const("weight", weight.T)],
                         out=None if bias else y[0])
    if bias:
        graph.node("Add", [product] + bias, out=y[0])


@converts("Softmax")
def softmax(graph, layer, x, y):
    graph.node("Softmax", x, out=y[0], axis=layer.axis % len(graph.shape(layer.bottoms[0])))


@converts("ElementWise")
def elementwise(graph, layer, x, y):
    op = {"add": "Add", "sub": "Sub", "mul": "Mul", "div": "Div", "max": "Max"}[layer.operation]
    if layer.coeff is not None:
        x = [graph.node("Mul", [xi, graph.const("coeff", [c])]) for xi, c in zip(x, layer.coeff)]
    result = x[0]
    for i, other in enumerate(x[1:], 2):   # left to right, as graphnet adds them up
        result = graph.node(op, [result, other], out=y[0] if i == len(x) else None)


@converts("Power")
def power(graph, layer, x, y):
    if layer.power == 0:   # 1 everywhere, even where x is inf or nan, as graphnet
        one = graph.onnx.helper.make_tensor("value", graph.onnx.TensorProto.FLOAT, [1], [1.0])
        graph.node("ConstantOfShape", [graph.node("Shape", x)], out=y[0], value=one)
        return
    steps = [("Mul", "scale", layer.scale)] if layer.scale != 1 else []
    steps += [("Add", "shift", layer.shift)] if layer.shift != 0 else []
    steps += [("Pow", "power", layer.power)] if layer.power != 1 else []
    apply_steps(graph, x[0], y[0], steps)


@converts("ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Exponential")
def activation(graph, layer, x, y):
    neuron_node(graph, layer.activation, x[0], y[0])


@converts("Scale")
def scale(graph, layer, x, y):
    bottom = layer.bottoms[0]
    if len(layer.bottoms) == 2:
        raise graph.error("a scale read from a second bottom is not exported yet", "bottoms")
    shape = graph.shape(bottom)
    axis = layer.axis % len(shape)
    if axis < graph.dynamic[bottom]:
        raise graph.error(f"is {layer.axis}: the parameters would span the free batch axis "
                          f"of '{bottom}'", "axis")
    end = len(shape) if layer.num_axes == -1 else axis + layer.num_axes
    broadcast = shape[axis:end] + (1,) * (len(shape) - end)   # ONNX aligns on the right
    steps = [("Mul", "scale", graph.param("scale").reshape(broadcast))]
    steps += [("Add", "bias", graph.param("bias").reshape(broadcast))] if layer.bias else []
    apply_steps(graph, x[0], y[0], steps)


@converts("BatchNorm")
def batch_norm(graph, layer, x, y):
    bottom = layer.bottoms[0]
    if not layer.global_stats:
        raise graph.error("is false: each batch would be normalized with its own statistics; "
                          "export normalizes with the running ones", "use_global_stats")
    channels_axis_fixed(graph, bottom)
    channels = graph.shape(bottom)[1]
    inputs = [graph.const("scale", np.ones(channels)), graph.const("bias", np.zeros(channels)),
              graph.const("mean", graph.param("mean")), graph.const("variance", graph.param("variance"))]
    graph.node("BatchNormalization", [x[0]] + inputs, out=y[0], epsilon=float(layer.eps))


# --- shape -------------------------------------------------------------------------------

@converts("Reshape", "Flatten")
def reshape(graph, layer, x, y):
    bottom, top = layer.bottoms[0], layer.tops[0]
    k = graph.dynamic[bottom]
    if graph.shape(top)[:k] != graph.shape(bottom)[:k]:
        raise graph.error(f"{graph.shape(bottom)} -> {graph.shape(top)} changes the free "
                          f"{'batch axis' if k == 1 else 'axes (T, N)'} of '{bottom}'; "
                          f"a deploy net takes any batch size", "shape" if hasattr(layer, "shape")
                          else "axis")
    view(graph, x[0], bottom, graph.shape(top), out=y[0])


@converts("Concat")
def concat(graph, layer, x, y):
    graph.node("Concat", x, out=y[0], axis=layer.at)


@converts("Split", "Identity", "Dropout")
def rename(graph, layer, x, y):
    # The same values under the tops' names (Dropout is the identity in the test phase).
    return [x[0]] * len(y) if type(layer).__name__ == "Split" else list(x)


# --- indices -----------------------------------------------------------------------------

@converts("Embed")
def embed(graph, layer, x, y):
    # Indices travel as numbers; ONNX gathers rows by int64 (a negative index counts from
    # the end there, where graphnet refuses it).
    index = graph.node("Cast", x, to=graph.onnx.TensorProto.INT64)
    bias = [graph.const("bias", graph.param("bias"))] if layer.bias else []
    rows = graph.node("Gather", [graph.const("weight", graph.param("weight")), index],
                      out=None if bias else y[0])
    if bias:
        graph.node("Add", [rows] + bias, out=y[0])


@converts("ArgMax")
def argmax(graph, layer, x, y):
    axis = layer.search_axis
    if layer.top_k == 1 and not layer.out_max_val:
        index = graph.node("ArgMax", x, axis=axis, keepdims=1)
    else:   # TopK puts the lower index first among equal scores, as graphnet does
        k = int64_const(graph, "k", [layer.top_k])
        values, index = graph.node("TopK", [x[0], k], out=y[0] if layer.out_max_val else None,
                                   outputs=2, axis=axis)
        if layer.out_max_val:
            return
    graph.node("Cast", [index], out=y[0], to=graph.onnx.TensorProto.FLOAT)


@converts("Index2Onehot")
def index2onehot(graph, layer, x, y):
    index = graph.node("Cast", x, to=graph.onnx.TensorProto.INT64)
    if len(graph.shape(layer.bottoms[0])) > 1:
        index = graph.node("Squeeze", [index, int64_const(graph, "axes", [1])])
    graph.node("OneHot", [index, int64_const(graph, "depth", [layer.n_class]),
                          graph.const("values", [0.0, 1.0])], out=y[0], axis=1)


# --- recurrent ---------------------------------------------------------------------------

@converts("LSTM", "RNN")
def recurrent(graph, layer, x, y):
    # graphnet's gates [i, f, o, g] are ONNX's [i, o, f, c] in another order; ONNX adds an
    # input and a recurrent bias (Wb, Rb): graphnet's one bias is Wb, and Rb is 0.
    # The cont bottom is left out: see onnx.py (the state is an input and an output).
    lstm = type(layer).__name__ == "LSTM"
    bottom, h = layer.bottoms[0], layer.output_dim
    if x[1] not in graph.net.inputs:
        raise graph.error(f"'{layer.bottoms[1]}' is computed by the net, but ONNX's "
                          f"{type(layer).__name__} cannot restart a stream within a call: "
                          f"cont must come from an Input (the model then takes the state "
                          f"instead)", "bottoms")
    graph.conts.append((layer, x[1]))
    order = [0, 2, 1, 3] if lstm else [0]

    def gates(array):
        return np.concatenate([array[i * h:(i + 1) * h] for i in order])[None]
    steps = x[0]
    if len(graph.shape(bottom)) > 3:
        steps = graph.node("Reshape", [steps, int64_const(graph, "shape", [0, 0, -1])])
    bias = gates(graph.param("bias"))
    inputs = [steps, graph.const("weight", gates(graph.param("weight"))),
              graph.const("recurrent", gates(graph.param("recurrent"))),
              graph.const("bias", np.concatenate([bias, np.zeros_like(bias)], axis=1)), ""]
    first, states = int64_const(graph, "axis0", [0]), []
    for name in ("hidden", "cell") if lstm else ("hidden",):
        given, after = graph.state(name, h)
        inputs.append(graph.node("Unsqueeze", [given, first]))
        states.append(after)
    results = graph.node("LSTM" if lstm else "RNN", inputs, outputs=len(states) + 1,
                         hidden_size=h)
    graph.node("Squeeze", [results[0], int64_const(graph, "axis1", [1])], out=y[0])   # (T, 1, N, H)
    for result, after in zip(results[1:], states):
        graph.node("Squeeze", [result, first], out=after)
