"""The registry of ONNX converters, one per layer type, and the activations' nodes they share.

The converter modules (onnx_layers, onnx_vision) register here; onnx.py, which builds the
graph, looks them up here: data flows one way, converters never import the builder.
"""

CONVERTERS = {}


def converts(*types):
    """Register a converter `convert(graph, layer, x, y)` for these layer types: x are the
    bottoms' value names; the converter writes the tops' values named y, or returns the
    value names that stand for the tops (a layer that renames, such as Split)."""
    def add(convert):
        for name in types:
            CONVERTERS[name] = convert
        return convert
    return add


def neuron_node(graph, neuron, x, out):
    """The node of an activation (a fused `neuron:` or a neuron layer's)."""
    if neuron.type == "identity":
        return graph.node("Identity", [x], out=out)
    if neuron.type == "leaky_relu":
        return graph.node("LeakyRelu", [x], out=out, alpha=float(neuron.slope))
    op = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "exponential": "Exp"}[neuron.type]
    return graph.node(op, [x], out=out)
