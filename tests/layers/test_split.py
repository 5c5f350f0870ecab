import numpy as np

from graphnet import Net
from graphnet.layers import InnerProduct, Input, Split
from graphnet.testing import check_gradients, check_layer
from tests.helpers import layer_from_yaml, run_layer


def test_explicit_split_shares_data_and_sums_gradients(backend, rng):
    assert layer_from_yaml("{name: s, type: Split, bottoms: [x], tops: [a, b]}") == \
        Split(name="s", bottoms=["x"], tops=["a", "b"])
    x = rng.normal(size=(3, 4))
    layer = Split(name="s", bottoms=["x"], tops=["a", "b", "c"])
    net, tops = run_layer(layer, [x], backend=backend)
    for top in tops:
        np.testing.assert_array_equal(top, x)
    assert net.blobs["a"].data is net.blobs["x"].data
    assert check_layer(layer, [x], backend=backend).max_error < 1e-6


def test_automatic_split_gradient_is_the_sum_of_both_paths(rng):
    weights = {name: (rng.normal(size=(2, 3)), rng.normal(size=2)) for name in "ab"}

    def net_with(paths):
        layers = [Input(name="in", tops=["x"], shapes=[[4, 3]])]
        for name in paths:
            layers.append(InnerProduct(name=name, bottoms=["x"], tops=[f"y_{name}"], output_dim=2,
                                       loss_weight=[1.0], neuron="tanh"))
        net = Net("n", layers, dtype="float64", force_backward=True)
        for name in paths:
            for param, value in zip(net.params[name], weights[name]):
                param.data[...] = value
        net.blobs["x"].data[...] = x
        net.forward()
        net.backward()
        return net
    x = rng.normal(size=(4, 3))
    both, only_a, only_b = net_with(["a", "b"]), net_with(["a"]), net_with(["b"])
    assert [l.name for l in both.layers] == ["in", "x_in_0_split", "a", "b"]
    np.testing.assert_allclose(both.blobs["x"].diff, only_a.blobs["x"].diff + only_b.blobs["x"].diff,
                               rtol=1e-12)
    assert check_gradients(both, projection=False).max_error < 1e-6
