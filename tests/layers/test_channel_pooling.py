import math

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import ChannelPooling, Input
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(x, pool, k, s, before, after):
    """Pooling along axis 1, window by window."""
    c = x.shape[1]
    count = math.ceil((c + before + after - k) / s) + 1
    if (count - 1) * s >= c + before:
        count -= 1
    out = []
    for j in range(count):
        start = j * s - before
        end = min(start + k, c + after)
        window = x[:, max(start, 0):min(end, c)]
        out.append(window.max(axis=1) if pool == "max" else window.sum(axis=1) / (end - start))
    return np.stack(out, axis=1)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: m, type: ChannelPooling, bottoms: [x], tops: [y], kernel: 4, stride: 4}") == \
        ChannelPooling(name="m", bottoms=["x"], tops=["y"], kernel=4, stride=4, pool="max", pad=[0, 0])
    assert layer_from_yaml("{name: m, type: ChannelPooling, bottoms: [x], tops: [y], kernel: 3, "
                           "pad: [2, 1], pool: mean}") == \
        ChannelPooling(name="m", bottoms=["x"], tops=["y"], kernel=3, pad=(2, 1), pool="mean")
    assert ChannelPooling(name="m", bottoms=["x"], tops=["y"], kernel=3, pad=1).pad == (1, 1)


@pytest.mark.parametrize("pool", ["max", "mean"])
@pytest.mark.parametrize("c, k, s, pad, out", [
    (6, 2, 2, 0, 3),        # windows tile the channels (maxout)
    (6, 3, 1, 1, 6),        # overlapping, padded both sides
    (7, 3, 2, 0, 3),        # overlapping, ending at the last channel
    (5, 2, 2, 0, 3),        # ceil(3/2) + 1: the last window holds one channel
    (5, 3, 2, [2, 0], 3),   # the first window holds one real channel
    (6, 2, 3, [1, 0], 3),   # the last window is cut at the padded end
    (5, 1, 3, 0, 2),        # ceil(4/3) + 1 = 3, but the 3rd would start at 6 > 5: dropped
])
@pytest.mark.parametrize("rest", [(), (3,), (2, 3)])
def test_forward_and_gradient(backend, rng, pool, c, k, s, pad, out, rest):
    shape = (2, c) + rest
    x = rng.permutation(math.prod(shape)).reshape(shape) / 7.0   # distinct: no near-ties
    layer = ChannelPooling(name="m", bottoms=["x"], tops=["y"], pool=pool, kernel=k, stride=s, pad=pad)
    _, (y,) = run_layer(layer, [x], backend=backend)
    assert y.shape == (2, out) + rest
    before, after = (pad, pad) if isinstance(pad, int) else pad
    np.testing.assert_allclose(y, reference(x, pool, k, s, before, after), rtol=1e-12)
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report


def test_mean_divides_by_the_window_clipped_to_the_padded_channels():
    x = np.arange(1.0, 6.0).reshape(1, 5)
    _, (y,) = run_layer(ChannelPooling(name="m", bottoms=["x"], tops=["y"], pool="mean", kernel=3,
                                       stride=2, pad=[1, 0]), [x])
    # windows [-1, 2), [1, 4), [3, 5): the first counts its padding, the last is cut at 5
    np.testing.assert_allclose(y, [[(1 + 2) / 3, (2 + 3 + 4) / 3, (4 + 5) / 2]])


def test_ties_send_the_gradient_to_one_channel():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[1, 4]]),
                    ChannelPooling(name="m", bottoms=["x"], tops=["y"], kernel=2, stride=1)],
              force_backward=True)
    net.forward()
    net.backward(top_diffs={"y": np.ones((1, 3))})
    assert net.blobs["x"].diff.ravel().tolist() == [1, 1, 1, 0]


@pytest.mark.parametrize("fields, shape, words", [
    (dict(kernel=2, pad=2), None, ["pad", "must be smaller than the kernel 2, got [2, 2]"]),
    (dict(kernel=3, pad=[0, 3]), None, ["pad", "must be smaller than the kernel 3, got [0, 3]"]),
    (dict(pad=[0, 1, 2]), None, ["pad", "must be an integer or a pair [before, after], got [0, 1, 2]"]),
    (dict(pad=[0, -1]), None, ["pad", "must be >= 0, got -1"]),
    (dict(kernel=0), None, ["kernel", "must be >= 1, got 0"]),
    (dict(stride=1.5), None, ["stride", "must be an integer"]),
    (dict(pool="min"), None, ["pool", "must be one of max, mean"]),
    (dict(kernel=5, pad=1), (2, 2, 3), ["kernel", "5 is larger than the 2 channels of 'x' (2, 2, 3) "
                                                  "padded by [1, 1]"]),
    (dict(kernel=2), (4,), ["bottoms", "needs a bottom with channels (N, C, ...), 'x' is (4,)"]),
])
def test_mistakes(fields, shape, words):
    with pytest.raises(GraphnetError) as err:
        layer = ChannelPooling(name="m", bottoms=["x"], tops=["y"], **fields)
        Net("n", [Input(name="in", tops=["x"], shapes=[list(shape)]), layer])
    for word in ["layer 'm'", *words]:
        assert word in str(err.value), str(err.value)
