import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import LRN, Input, ReLU
from graphnet.testing import check_gradients, check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(x, local_size, alpha, beta, k, region):
    """Caffe's LRN, value by value."""
    half = local_size // 2
    s = np.empty_like(x)
    if region == "across_channels":
        for c in range(x.shape[1]):
            window = x[:, max(c - half, 0):c + half + 1]
            s[:, c] = k + alpha / local_size * (window ** 2).sum(axis=1)
    else:
        for i in range(x.shape[2]):
            for j in range(x.shape[3]):
                window = x[:, :, max(i - half, 0):i + half + 1, max(j - half, 0):j + half + 1]
                s[:, :, i, j] = k + alpha / local_size ** 2 * (window ** 2).sum(axis=(2, 3))
    return x / s ** beta


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: n, type: LRN, bottoms: [x], tops: [y], local_size: 3, alpha: 1.0e-4, "
                           "norm_region: within_channel}") == \
        LRN(name="n", bottoms=["x"], tops=["y"], local_size=3, alpha=0.0001, beta=0.75, k=1,
            norm_region="WITHIN_CHANNEL")
    assert LRN(name="n", bottoms=["x"], tops=["y"]).spec["local_size"] == 5


@pytest.mark.parametrize("shape, local_size, alpha, beta, k, region", [
    ((2, 7, 3, 2), 5, 1.0, 0.75, 1.0, "across_channels"),     # Caffe's defaults
    ((2, 4, 3, 3), 3, 2.0, 0.5, 2.0, "across_channels"),
    ((2, 3, 2, 2), 7, 1.5, 1.0, 1.0, "across_channels"),      # window wider than the channels
    ((3, 6), 3, 1.0, 0.75, 0.5, "across_channels"),          # no spatial axes
    ((2, 5, 4, 1), 1, 3.0, 0.75, 1.0, "across_channels"),     # each channel alone
    ((2, 2, 5, 4), 3, 1.0, 0.75, 1.0, "within_channel"),
    ((1, 3, 4, 6), 5, 2.0, 0.6, 1.5, "within_channel"),
])
def test_forward_and_gradient(backend, rng, shape, local_size, alpha, beta, k, region):
    x = rng.normal(size=shape)
    layer = LRN(name="n", bottoms=["x"], tops=["y"], local_size=local_size, alpha=alpha, beta=beta, k=k,
                norm_region=region)
    _, (y,) = run_layer(layer, [x], backend=backend)
    np.testing.assert_allclose(y, reference(x, local_size, alpha, beta, k, region), rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


def test_by_hand():
    # One position, channels [1, 2, 3], local_size 3: s = 1 + (1/3)(squares of the neighbours).
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    _, (y,) = run_layer(LRN(name="n", bottoms=["x"], tops=["y"], local_size=3, beta=1.0), [x])
    np.testing.assert_allclose(y.ravel(), [1 / (1 + 5 / 3), 2 / (1 + 14 / 3), 3 / (1 + 13 / 3)])


def test_float32_stays_float32(rng):
    x = rng.normal(size=(2, 6, 3, 3))
    for region in ("across_channels", "within_channel"):
        layer = LRN(name="n", bottoms=["x"], tops=["y"], local_size=3, norm_region=region)
        net, (y,) = run_layer(layer, [x], dtype="float32")
        assert y.dtype == np.float32
        np.testing.assert_allclose(y, reference(x, 3, 1.0, 0.75, 1.0, region), rtol=1e-5)
        net.backward(top_diffs={"y": np.ones(x.shape)})
        assert net.blobs["x"].diff.dtype == np.float32


def test_an_in_place_layer_after_lrn_keeps_its_gradient_right(rng):
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 5, 3, 3]]),
                    LRN(name="n", bottoms=["x"], tops=["y"], local_size=3),
                    ReLU(name="r", bottoms=["y"], tops=["y"])], dtype="float64", force_backward=True)
    net.blobs["x"].data[...] = rng.normal(size=(2, 5, 3, 3))
    assert check_gradients(net).max_error < 1e-6


@pytest.mark.parametrize("fields, shape, words", [
    (dict(local_size=4), None, ["local_size", "must be odd, got 4"]),
    (dict(local_size=0), None, ["local_size", "must be >= 1, got 0"]),
    (dict(norm_region="across"), None, ["norm_region", "must be one of across_channels, within_channel"]),
    (dict(beta="big"), None, ["beta", "must be a number, got 'big'"]),
    (dict(norm_region="within_channel"), (2, 3, 4), ["bottoms", "within_channel needs a 4-D bottom "
                                                                "(N, C, H, W), 'x' is (2, 3, 4)"]),
    (dict(), (4,), ["bottoms", "needs a bottom with channels (N, C, ...), 'x' is (4,)"]),
])
def test_mistakes(fields, shape, words):
    with pytest.raises(GraphnetError) as err:
        layer = LRN(name="n", bottoms=["x"], tops=["y"], **fields)
        Net("n", [Input(name="in", tops=["x"], shapes=[list(shape)]), layer])
    for word in ["layer 'n'", *words]:
        assert word in str(err.value), str(err.value)
