"""The compiled kernels (graphnet[fast]) give the plain NumPy paths' results, bit for bit
but for the sign of zeros: NumPy's max-pool backward multiplies by a mask (-g * 0 = -0.0),
and np.maximum(-0.0, 0.0) may pick either zero.

The layer tests (gradient checks included) run whichever path this install has; these
run both, side by side, on the same inputs.
"""

import numpy as np
import pytest

from graphnet import Net
from graphnet.backend import Backend
from graphnet.layers import Convolution, Deconvolution, Input, Pooling

pytest.importorskip("numba")


def both_paths(monkeypatch, make_layers, feed, dtype, params=None):
    """Forward and backward of the same net built without and with the kernels:
    [(top, bottom diff, kernels)] for each; with `params`, a list of the parameter
    gradients is appended to each."""
    runs = []
    for switch in ("0", "1"):
        monkeypatch.setenv("GRAPHNET_KERNELS", switch)
        net = Net("k", make_layers(), dtype=dtype, seed=3, force_backward=True)
        net.blobs["x"].data[...] = feed
        net.forward()
        rng = np.random.default_rng(7)
        top = net.blobs["y"]
        net.backward(top_diffs={"y": rng.standard_normal(top.shape)})
        run = (top.data.copy(), net.blobs["x"].diff.copy(), net.backend.kernels)
        if params is not None:
            run += ([p.diff.copy() for p in net.params[params]],)
        runs.append(run)
    return runs


def same_bits(a, b):
    """Equal to the bit, once -0.0 is made 0.0 (adding 0.0 does only that)."""
    return a.dtype == b.dtype and (a + 0.0).tobytes() == (b + 0.0).tobytes()


def pooling_net(shape):
    return lambda: [Input(name="in", tops=["x"], shapes=[shape]),
                    Pooling(name="pool", bottoms=["x"], tops=["y"], kernel=2, stride=2)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("values", ["random", "ties", "zeros and ones"])
def test_max_pool_2x2_is_the_numpy_path(monkeypatch, dtype, values):
    shape = (3, 4, 6, 8)
    rng = np.random.default_rng(0)
    x = {"random": rng.standard_normal(shape),
         "ties": np.round(rng.standard_normal(shape)),        # many equal maxima in a tile
         "zeros and ones": rng.integers(0, 2, shape)}[values]
    (top0, diff0, off), (top1, diff1, on) = both_paths(monkeypatch, pooling_net(shape), x, dtype)
    assert off is None and on is not None
    assert same_bits(top1, top0)
    assert same_bits(diff1, diff0)


def test_max_pool_2x2_sends_each_gradient_to_the_first_max(monkeypatch):
    x = np.array([[[[1., 3., 5., 5.],
                    [3., 2., 5., 5.]]]])
    runs = both_paths(monkeypatch, pooling_net(x.shape), x, "float64")
    for top, diff, _ in runs:
        assert top.tolist() == [[[[3., 5.]]]]
        assert (diff != 0).tolist() == [[[[False, True, True, False],
                                           [False, False, False, False]]]]


def test_max_pool_2x2_propagates_nan_as_numpy(monkeypatch):
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    (top0, _, _), (top1, _, _) = both_paths(monkeypatch, pooling_net(x.shape), x, "float64")
    assert np.isnan(top0[0, 0, 0, 0]) and np.isnan(top1[0, 0, 0, 0])
    assert np.array_equal(top0, top1, equal_nan=True)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kernel, stride, pad, dilation", [
    (5, 1, 0, 1),     # LeNet's conv2
    (3, 2, 1, 1),
    (3, 1, 2, 2),
    ([2, 3], [2, 1], [0, 1], [1, 2]),
])
@pytest.mark.parametrize("channels", [1, 3])   # 1 with kernel 5: LeNet's conv1, by sample
@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
def test_im2col_and_col2im_are_the_numpy_path(monkeypatch, kind, channels, dtype, kernel, stride,
                                              pad, dilation):
    shape = (4, channels, 9, 10)
    layers = lambda: [Input(name="in", tops=["x"], shapes=[shape]),  # noqa: E731
                      kind(name="conv", bottoms=["x"], tops=["y"], n_filter=5, kernel=kernel,
                           stride=stride, pad=pad, dilation=dilation, bias_filler="gaussian")]
    x = np.random.default_rng(1).standard_normal(shape)
    (top0, diff0, off, grads0), (top1, diff1, on, grads1) = both_paths(
        monkeypatch, layers, x, dtype, params="conv")
    assert off is None and on is not None
    assert top1.tobytes() == top0.tobytes()    # the convolution's own zeros are the same too
    assert diff1.tobytes() == diff0.tobytes()
    assert [g.tobytes() for g in grads1] == [g.tobytes() for g in grads0]


def test_graphnet_kernels_0_turns_them_off(monkeypatch):
    monkeypatch.setenv("GRAPHNET_KERNELS", "0")
    assert Backend("numpy").kernels is None
    monkeypatch.setenv("GRAPHNET_KERNELS", "1")
    assert Backend("numpy").kernels is not None
