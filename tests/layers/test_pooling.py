import math

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, Pooling
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(x, pool, k, s, p):
    """Caffe's pooling, written out window by window."""
    n, c, h, w = x.shape
    def size(length):
        o = math.ceil((length + 2 * p - k) / s) + 1
        return o - 1 if p > 0 and (o - 1) * s >= length + p else o
    oh, ow = size(h), size(w)
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * s - p, j * s - p
            he, we = min(hs + k, h + p), min(ws + k, w + p)
            window = x[:, :, max(hs, 0):min(he, h), max(ws, 0):min(we, w)]
            out[:, :, i, j] = window.max(axis=(2, 3)) if pool == "max" else \
                window.sum(axis=(2, 3)) / ((he - hs) * (we - ws))
    return out


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: p, type: Pooling, bottoms: [x], tops: [y], kernel: 2, stride: 2}") == \
        Pooling(name="p", bottoms=["x"], tops=["y"], kernel=[2, 2], stride=2, pool="max")


@pytest.mark.parametrize("pool", ["max", "mean"])
@pytest.mark.parametrize("h, k, s, p, out", [(6, 3, 2, 0, 3), (6, 3, 2, 1, 4), (8, 2, 2, 0, 4), (7, 3, 2, 1, 4),
                                              (5, 2, 1, 0, 4), (9, 3, 3, 1, 4), (7, 2, 2, 0, 4)])
def test_forward_and_gradient(backend, rng, pool, h, k, s, p, out):
    # Distinct values far apart: no ties near the max.
    x = rng.permutation(2 * 3 * h * h).reshape(2, 3, h, h) / 7.0
    layer = Pooling(name="p", bottoms=["x"], tops=["y"], pool=pool, kernel=k, stride=s, pad=p)
    _, (y,) = run_layer(layer, [x], backend=backend)
    assert y.shape == (2, 3, out, out)
    np.testing.assert_allclose(y, reference(x, pool, k, s, p), rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


def test_global_and_rectangular(rng):
    x = rng.permutation(2 * 3 * 4 * 6).reshape(2, 3, 4, 6) / 5.0
    _, (y,) = run_layer(Pooling(name="g", bottoms=["x"], tops=["y"], pool="mean", global_pooling=True), [x])
    np.testing.assert_allclose(y[:, :, 0, 0], x.mean(axis=(2, 3)))
    layer = Pooling(name="r", bottoms=["x"], tops=["y"], kernel=[2, 3], stride=[2, 3])
    _, (y,) = run_layer(layer, [x])
    np.testing.assert_allclose(y, x.reshape(2, 3, 2, 2, 2, 3).max(axis=(3, 5)))
    assert check_layer(layer, [x]).max_error < 1e-6


def test_ties_send_the_gradient_to_one_input():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[1, 1, 2, 2]]),
                    Pooling(name="p", bottoms=["x"], tops=["y"], kernel=2, stride=2)], force_backward=True)
    net.forward()
    net.backward(top_diffs={"y": np.ones((1, 1, 1, 1))})
    assert sorted(net.blobs["x"].diff.ravel()) == [0, 0, 0, 1]


def test_an_in_place_layer_after_max_pooling_keeps_its_gradient_right(rng):
    from graphnet.layers import ReLU
    x = rng.permutation(2 * 2 * 6 * 6).reshape(2, 2, 6, 6) / 7.0 - 5.0
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 2, 6, 6]]),
                    Pooling(name="p", bottoms=["x"], tops=["y"], kernel=2, stride=2),
                    ReLU(name="r", bottoms=["y"], tops=["y"])], dtype="float64", force_backward=True)
    net.blobs["x"].data[...] = x
    from graphnet.testing import check_gradients
    assert check_gradients(net).max_error < 1e-6


def test_repeated_passes_give_the_same_result(rng):
    x = rng.normal(size=(2, 2, 5, 5))
    layer = Pooling(name="p", bottoms=["x"], tops=["y"], kernel=3, stride=2, pad=1)
    net, (first,) = run_layer(layer, [x])
    net.forward()
    np.testing.assert_array_equal(net.blobs["y"].data, first)


@pytest.mark.parametrize("fields, shape, words", [
    (dict(kernel=2, pad=2), (1, 1, 4, 4), ["pad", "smaller than the kernel"]),
    (dict(kernel=5), (1, 1, 4, 4), ["kernel", "larger than 'x'"]),
    (dict(kernel=2), (4, 4), ["bottoms", "needs a 4-D bottom"]),
    (dict(kernel=0), None, ["kernel", "must be >= 1"]),
    (dict(kernel=2, pool="avg"), None, ["pool", "must be one of max, mean"]),
])
def test_mistakes(fields, shape, words):
    with pytest.raises(GraphnetError) as err:
        layer = Pooling(name="p", bottoms=["x"], tops=["y"], **fields)
        Net("n", [Input(name="in", tops=["x"], shapes=[list(shape)]), layer])
    for word in ["layer 'p'", *words]:
        assert word in str(err.value), str(err.value)
