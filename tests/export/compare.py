"""Build a deploy net, export it, and compare onnxruntime's outputs with graphnet's forward."""

import numpy as np
import pytest

import graphnet
from graphnet.export import export_onnx
from graphnet.layers import Input

ort = pytest.importorskip("onnxruntime")
BUILD_BATCH = 3


def deploy_net(layers, shapes, batch=BUILD_BATCH, share_with=None, dtype="float32"):
    """A test-phase net whose Input has the given shapes, "N" standing for the batch size."""
    shapes = {name: [batch if d == "N" else d for d in shape] for name, shape in shapes.items()}
    return graphnet.Net("exported", [Input(name="input", tops=list(shapes), shapes=list(shapes.values())),
                                     *layers], phase="test", share_with=share_with, dtype=dtype)


def randomize(net, rng):
    """Random values in every parameter (biases and statistics too, not the fillers' zeros)."""
    for param in net.param_registry.values():
        values = rng.uniform(0.5, 2.0, param.shape) if param.name in ("variance", "count") \
            else rng.normal(0.0, 0.5, param.shape)
        param.data[...] = net.backend.asarray(values)


def session(net, **kwargs):
    model = export_onnx(net, **kwargs)
    return model, ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def graphnet_outputs(net, feeds):
    for name, array in feeds.items():
        net.blobs[name].data[...] = net.backend.asarray(array)
    net.forward()
    return {name: net.backend.to_host(net.blobs[name].data) for name in net.outputs
            if name not in net.inputs}


def check_layers(layers, shapes, rng, batches=(BUILD_BATCH, 1, 5), make=None, atol=1e-5):
    """Export the net of `layers` (random weights) and compare every output, shapes and
    values, at several batch sizes through the free batch axis; returns the model."""
    make = make or (lambda shape: rng.standard_normal(shape))
    net = deploy_net(layers, shapes)
    randomize(net, rng)
    model, sess = session(net)
    names = [o.name for o in sess.get_outputs()]
    for batch in batches:
        other = net if batch == BUILD_BATCH else deploy_net(layers, shapes, batch, share_with=net)
        feeds = {name: make(other.blobs[name].shape).astype(np.float32) for name in shapes}
        expected = graphnet_outputs(other, feeds)
        wanted = [i.name for i in sess.get_inputs()]   # an input only a shape is taken from drops out
        got = dict(zip(names, sess.run(None, {name: feeds[name] for name in wanted})))
        assert sorted(got) == sorted(expected)
        for name, value in expected.items():
            assert got[name].shape == value.shape, name
            np.testing.assert_allclose(got[name], value, rtol=0, atol=atol, err_msg=name)
    return model
