import math

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, Pooling, ReLU
from graphnet.testing import check_gradients, check_layer
from tests.helpers import layer_from_yaml, run_layer


def out_size(length, k, s, p):
    """Caffe's ceil rounding, less a last window that would start past the image."""
    o = math.ceil((length + 2 * p - k) / s) + 1
    return o - 1 if (o - 1) * s >= length + p else o


def reference(x, pool, k, s, p):
    """Caffe's pooling, written out window by window (k, s, p: (h, w) pairs)."""
    n, c, h, w = x.shape
    oh, ow = out_size(h, k[0], s[0], p[0]), out_size(w, k[1], s[1], p[1])
    out = np.zeros((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            hs, ws = i * s[0] - p[0], j * s[1] - p[1]
            he, we = min(hs + k[0], h + p[0]), min(ws + k[1], w + p[1])
            window = x[:, :, max(hs, 0):min(he, h), max(ws, 0):min(we, w)]
            out[:, :, i, j] = window.max(axis=(2, 3)) if pool == "max" else \
                window.sum(axis=(2, 3)) / ((he - hs) * (we - ws))
    return out


def distinct(rng, shape, scale=7.0):
    """Distinct values 1/scale apart: no ties, no near-ties for max."""
    return rng.permutation(math.prod(shape)).reshape(shape) / scale


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: p, type: Pooling, bottoms: [x], tops: [y], kernel: 2, stride: 2, "
                           "neuron: relu}") == \
        Pooling(name="p", bottoms=["x"], tops=["y"], kernel=[2, 2], stride=2, pool="max", neuron="relu")
    assert layer_from_yaml("{name: p, type: Pooling, bottoms: [x], tops: [y], pool: mean, "
                           "kernel: [3, 2], pad: [1, 0]}") == \
        Pooling(name="p", bottoms=["x"], tops=["y"], kernel=(3, 2), pad=[1, 0], pool="MEAN")


@pytest.mark.parametrize("pool", ["max", "mean"])
@pytest.mark.parametrize("h, k, s, p, out", [
    (6, 3, 2, 0, 3),   # ceil(3/2) + 1: the last window hangs one past the image
    (6, 3, 2, 1, 4),   # ceil(5/2) + 1
    (8, 2, 2, 0, 4),   # windows tile the image
    (7, 3, 2, 1, 4),   # ceil(6/2) + 1 = 4, last window starts at 5 < 7 + 1
    (5, 2, 1, 0, 4),   # overlapping windows inside the image
    (9, 3, 3, 1, 4),   # ceil(8/3) + 1
    (7, 2, 2, 0, 4),   # ceil(5/2) + 1: the last window is cut
    (5, 3, 2, 2, 4),   # ceil(6/2) + 1; the first window holds one real column
    (7, 1, 2, 0, 4),   # every other row and column skipped
    (6, 2, 3, 0, 2),   # ceil(4/3) + 1 = 3, but the 3rd would start at 6 = the end: dropped
    (5, 2, 3, 1, 2),   # ceil(5/3) + 1 = 3, the 3rd would start at 6 - 1 = 5: dropped
])
def test_forward_and_gradient(backend, rng, pool, h, k, s, p, out):
    assert out_size(h, k, s, p) == out
    x = distinct(rng, (2, 3, h, h))
    layer = Pooling(name="p", bottoms=["x"], tops=["y"], pool=pool, kernel=k, stride=s, pad=p)
    _, (y,) = run_layer(layer, [x], backend=backend)
    assert y.shape == (2, 3, out, out)
    np.testing.assert_allclose(y, reference(x, pool, (k, k), (s, s), (p, p)), rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


def test_caffe_rounding_by_hand():
    # 6x6, kernel 3, stride 2: windows start at 0, 2, 4 (the last one holds 2 columns).
    x = np.arange(36.0).reshape(1, 1, 6, 6)
    layer = Pooling(name="p", bottoms=["x"], tops=["y"], pool="mean", kernel=3, stride=2)
    _, (y,) = run_layer(layer, [x])
    assert y[0, 0, 0, 2] == pytest.approx(np.mean(x[0, 0, 0:3, 4:6]))
    # With pad 1: windows start at -1, 1, 3, 5. A window divides by its size clipped to
    # the padded image [-1, 7): 3x3 at the top left (padding counts), 2x2 at the bottom right.
    _, (y,) = run_layer(layer.replace(pad=1), [x])
    assert y.shape == (1, 1, 4, 4)
    assert y[0, 0, 0, 0] == pytest.approx(x[0, 0, 0:2, 0:2].sum() / 9)
    assert y[0, 0, 3, 3] == pytest.approx(x[0, 0, 5, 5] / 4)


@pytest.mark.parametrize("pool", ["max", "mean"])
@pytest.mark.parametrize("k, s, p", [((2, 3), (2, 3), (0, 0)), ((3, 2), (2, 1), (1, 0)),
                                     ((2, 2), (1, 3), (1, 1))])
def test_rectangular(backend, rng, pool, k, s, p):
    x = distinct(rng, (2, 3, 4, 6), 5.0)
    layer = Pooling(name="r", bottoms=["x"], tops=["y"], pool=pool, kernel=list(k), stride=list(s),
                    pad=list(p))
    _, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_allclose(y, reference(x, pool, k, s, p), rtol=1e-12)
    assert check_layer(layer, [x], backend=backend).max_error < 1e-6


@pytest.mark.parametrize("pool", ["max", "mean"])
def test_global_pooling_ignores_kernel_stride_and_pad(backend, rng, pool):
    x = distinct(rng, (2, 3, 4, 6), 5.0)
    layer = Pooling(name="g", bottoms=["x"], tops=["y"], pool=pool, global_pooling=True,
                    kernel=2, stride=2, pad=1)
    _, (y,) = run_layer(layer, [x], backend=backend)
    assert y.shape == (2, 3, 1, 1)
    expect = x.max(axis=(2, 3)) if pool == "max" else x.mean(axis=(2, 3))
    np.testing.assert_allclose(y[:, :, 0, 0], expect, rtol=1e-12)
    assert check_layer(layer, [x], backend=backend).max_error < 1e-6


def test_fused_neuron(backend, rng):
    x = distinct(rng, (2, 2, 6, 6)) - 5.0
    layer = Pooling(name="p", bottoms=["x"], tops=["y"], kernel=3, stride=2, pad=1, neuron="relu")
    _, (y,) = run_layer(layer, [x], backend=backend)
    expect = np.maximum(reference(x, "max", (3, 3), (2, 2), (1, 1)), 0)
    assert (expect == 0).any() and (expect > 0).any()
    np.testing.assert_allclose(y, expect, rtol=1e-12)
    assert check_layer(layer, [x], backend=backend).max_error < 1e-6


def test_float32_stays_float32(rng):
    x = rng.normal(size=(2, 3, 6, 6))
    for pool in ("max", "mean"):
        net, (y,) = run_layer(Pooling(name="p", bottoms=["x"], tops=["y"], pool=pool, kernel=3,
                                      stride=2, pad=1), [x], dtype="float32")
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, reference(x.astype(np.float32), pool, (3, 3), (2, 2), (1, 1)),
                                   rtol=1e-6)


@pytest.mark.parametrize("k, s", [(2, 2), (2, 1)])
def test_ties_send_the_gradient_to_one_input(k, s):
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[1, 1, 2, 2]]),
                    Pooling(name="p", bottoms=["x"], tops=["y"], kernel=k, stride=s)], force_backward=True)
    net.forward()
    net.backward(top_diffs={"y": np.ones((1, 1, 1, 1))})
    assert net.blobs["x"].diff.ravel().tolist() == [1, 0, 0, 0]  # the first, row-major


def test_an_in_place_layer_after_max_pooling_keeps_its_gradient_right(rng):
    x = distinct(rng, (2, 2, 6, 6)) - 5.0
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 2, 6, 6]]),
                    Pooling(name="p", bottoms=["x"], tops=["y"], kernel=2, stride=2),
                    ReLU(name="r", bottoms=["y"], tops=["y"])], dtype="float64", force_backward=True)
    net.blobs["x"].data[...] = x
    assert check_gradients(net).max_error < 1e-6


def test_repeated_passes_give_the_same_result(rng):
    x = rng.normal(size=(2, 2, 5, 5))
    for pool in ("max", "mean"):
        layer = Pooling(name="p", bottoms=["x"], tops=["y"], pool=pool, kernel=3, stride=2, pad=1)
        net, (first,) = run_layer(layer, [x])
        net.backward(top_diffs={"y": np.ones(first.shape)})
        net.forward()
        np.testing.assert_array_equal(net.blobs["y"].data, first)


@pytest.mark.parametrize("fields, shape, words", [
    (dict(kernel=2, pad=2), (1, 1, 4, 4), ["pad", "must be smaller than the kernel (2, 2), got (2, 2)"]),
    (dict(kernel=[3, 2], pad=[1, 2]), (1, 1, 4, 4), ["pad", "smaller than the kernel (3, 2)"]),
    (dict(kernel=5), (1, 1, 4, 4), ["kernel", "(5, 5) is larger than 'x' (1, 1, 4, 4) padded by (0, 0)"]),
    (dict(kernel=2), (4, 4), ["bottoms", "needs a 4-D bottom (N, C, H, W), 'x' is (4, 4)"]),
    (dict(kernel=0), None, ["kernel", "must be >= 1"]),
    (dict(kernel=[2, 2, 2]), None, ["kernel", "must be an integer or a pair [h, w]"]),
    (dict(stride=0), None, ["stride", "must be >= 1"]),
    (dict(pad=-1), None, ["pad", "must be >= 0"]),
    (dict(kernel=2, pool="avg"), None, ["pool", "must be one of max, mean"]),
    (dict(neuron="relux"), None, ["neuron", "relu"]),
])
def test_mistakes(fields, shape, words):
    with pytest.raises(GraphnetError) as err:
        layer = Pooling(name="p", bottoms=["x"], tops=["y"], **fields)
        Net("n", [Input(name="in", tops=["x"], shapes=[list(shape)]), layer])
    for word in ["layer 'p'", *words]:
        assert word in str(err.value), str(err.value)


def test_one_bottom_one_top():
    with pytest.raises(GraphnetError) as err:
        Pooling(name="p", bottoms=["x", "z"], tops=["y"])
    assert "layer 'p': bottoms: Pooling takes exactly 1, got 2" in str(err.value)
