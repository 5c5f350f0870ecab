"""graphnet.chain: a net from a list of layers, each reading the one before (Mathematica's NetChain).

    mlp = graphnet.chain("mlp", [InnerProduct(output_dim=100, neuron="relu"),
                                 InnerProduct(output_dim=10), Softmax()], input=(784,))
    probs = mlp(x)                 # x: (N, 784)

The first layer reads an Input named `data` of shape (batch, *input). A layer without a
name is a link: it is named by its type and place (ip1, ip2, conv1, pool1, ...), reads
the previous layer's first top and writes a blob of its own name. A named layer keeps
its name, bottoms and tops (a named layer needs them, as in a netdef), so a chain may
still branch where it says so.
"""

from .errors import GraphnetError
from .layers import Input, Layer
from .net import Net

PREFIXES = {"InnerProduct": "ip", "Convolution": "conv", "Deconvolution": "deconv",
            "Pooling": "pool", "BatchNorm": "bn", "Dropout": "drop", "Softmax": "prob"}


def chain(name, layers, input=(784,), *, backend=None, dtype="float32", seed=0):
    """A test-phase Net of `layers` joined one after another, ready for `net(x)` or training
    from other code. `input` is the shape of one sample."""
    try:
        shape = [int(d) for d in ((input,) if isinstance(input, int) else input)]
    except (TypeError, ValueError):
        raise GraphnetError(f"must be the shape of one sample, e.g. (784,), got {input!r}",
                            net=name, field="input") from None
    chained, counts = [Input(name="data", tops=["data"], shapes=[[1, *shape]])], {}
    taken = {l.name for l in layers if isinstance(l, Layer)}
    previous = "data"
    for position, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise GraphnetError(f"layers must be Layer objects, got {layer!r}", net=name,
                                layer=f"#{position + 1}")
        changes = {}
        if layer.name is None:
            prefix = PREFIXES.get(type(layer).__name__, type(layer).__name__.lower())
            while True:
                counts[prefix] = counts.get(prefix, 0) + 1
                candidate = prefix if prefix == "prob" and counts[prefix] == 1 else f"{prefix}{counts[prefix]}"
                if candidate not in taken:
                    break
            changes["name"] = candidate
            taken.add(candidate)
        if not layer.bottoms:
            changes["bottoms"] = [previous]
        if not layer.tops:
            changes["tops"] = [changes.get("name", layer.name)]
        layer = layer.replace(**changes) if changes else layer
        chained.append(layer)
        previous = layer.tops[0]
    return Net(name, chained, phase="test", backend=backend, dtype=dtype, seed=seed)
