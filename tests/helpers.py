"""Small helpers shared by the tests."""

import numpy as np

import graphnet
from graphnet.netdef import layer_from_entry, parse_yaml


def layer_from_yaml(text):
    """The layer one YAML mapping describes, built as a netdef entry is."""
    return layer_from_entry(parse_yaml(text, "<test>"), "<test>")


def run_layer(layer, bottoms, backend="numpy", dtype="float64", phase="train"):
    """Forward `layer` on host arrays (one per distinct bottom); returns (net, host tops)."""
    names = list(dict.fromkeys(layer.bottoms))
    arrays = [np.asarray(b, dtype=dtype) for b in bottoms]
    layers = [graphnet.layers.Input(name="__input__", tops=names, shapes=[a.shape for a in arrays]),
              layer] if names else [layer]
    net = graphnet.Net("run", layers, backend=backend, dtype=dtype, phase=phase)
    for name, array in zip(names, arrays):
        net.blobs[name].data[...] = net.backend.asarray(array)
    net.forward()
    top_names = layer.tops or [layer.name]
    return net, [net.backend.to_host(net.blobs[t].data) for t in top_names]


def linear_net(x, **fields):
    """A float64 net whose loss is sum(x W^T (+ b)) over an Input holding x: its gradient is
    known in closed form (dL/dW: the sum of the samples), so a solver step can be checked by
    hand. `fields` go to the InnerProduct 'fit' (output_dim 1 unless given)."""
    x = np.asarray(x, dtype="float64")
    layers = [graphnet.layers.Input(name="in", tops=["x"], shapes=[list(x.shape)]),
              graphnet.layers.InnerProduct(name="fit", bottoms=["x"], tops=["y"],
                                           **{"output_dim": 1, "loss_weight": [1.0], **fields})]
    net = graphnet.Net("lin", layers, dtype="float64")
    net.blobs["x"].data[...] = x
    return net
