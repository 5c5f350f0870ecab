import numpy as np
import pytest

from graphnet import Net
from graphnet.layers import InnerProduct, Input, Split, SquareLoss
from graphnet.testing import check_gradients, check_layer
from tests.helpers import layer_from_yaml, run_layer


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: s, type: Split, bottoms: [x], tops: [a, b]}") == \
        Split(name="s", bottoms=["x"], tops=["a", "b"])


@pytest.mark.parametrize("n_tops", [1, 2, 3])
def test_explicit_split_shares_data_and_sums_gradients(backend, rng, n_tops):
    x = rng.normal(size=(3, 4))
    tops = [f"t{k}" for k in range(n_tops)]
    layer = Split(name="s", bottoms=["x"], tops=tops)
    net, outputs = run_layer(layer, [x], backend=backend)
    for top, output in zip(tops, outputs):
        np.testing.assert_array_equal(output, x)
        assert net.blobs[top].data is net.blobs["x"].data
    report = check_layer(layer, [x], backend=backend)
    assert report.max_error < 1e-6, report
    # dL/dx is the sum of the tops' gradients.
    diffs = {top: rng.normal(size=(3, 4)) for top in tops}
    report.net.backward(top_diffs=diffs)
    np.testing.assert_allclose(report.net.backend.to_host(report.net.blobs["x"].diff),
                               sum(diffs.values()), rtol=1e-12)


def two_paths(paths, weights, x):
    """Input x read by one InnerProduct per path, each weighed in the loss."""
    layers = [Input(name="in", tops=["x"], shapes=[list(x.shape)])]
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


def test_automatic_split_gradient_is_the_sum_of_both_paths(rng):
    weights = {name: (rng.normal(size=(2, 3)), rng.normal(size=2)) for name in "ab"}
    x = rng.normal(size=(4, 3))
    both, only_a, only_b = (two_paths(p, weights, x) for p in (["a", "b"], ["a"], ["b"]))
    assert [l.name for l in both.layers] == ["in", "x_in_0_split", "a", "b"]
    split = both.layer("x_in_0_split")
    assert (split.bottoms, split.tops) == (["x"], ["x_in_0_split_0", "x_in_0_split_1"])
    assert both.layer("a").bottoms == ["x_in_0_split_0"] and both.layer("b").bottoms == ["x_in_0_split_1"]
    assert [l.name for l in only_a.layers] == ["in", "a"]
    np.testing.assert_allclose(both.blobs["x"].diff, only_a.blobs["x"].diff + only_b.blobs["x"].diff,
                               rtol=1e-12)
    assert np.abs(only_a.blobs["x"].diff).min() > 0 and np.abs(only_b.blobs["x"].diff).min() > 0
    assert check_gradients(both, projection=False).max_error < 1e-6


def test_split_is_named_after_blob_producer_and_top_index(rng):
    net = Net("n", [Input(name="data", tops=["x", "t"], shapes=[[4, 3], [4, 2]]),
                    InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=2),
                    SquareLoss(name="l1", bottoms=["y", "t"]),
                    SquareLoss(name="l2", bottoms=["y", "t"], loss_weight=[0.5])],
              dtype="float64")
    assert [l.name for l in net.layers] == ["data", "t_data_1_split", "ip", "y_ip_0_split", "l1", "l2"]
    assert net.layer("l1").bottoms == ["y_ip_0_split_0", "t_data_1_split_0"]
    assert net.layer("l2").bottoms == ["y_ip_0_split_1", "t_data_1_split_1"]
    net.blobs["x"].data[...] = rng.normal(size=(4, 3))
    net.blobs["t"].data[...] = rng.normal(size=(4, 2))
    report = check_gradients(net)
    assert report.max_error < 1e-6, report


def test_a_blob_weighed_in_the_loss_and_read_gets_both_gradients(rng):
    # y is an output weighed in the loss (gradient 1 everywhere) and also read by 'b'.
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[4, 3]]),
                    InnerProduct(name="a", bottoms=["x"], tops=["y"], output_dim=2, loss_weight=[1.0]),
                    InnerProduct(name="b", bottoms=["y"], tops=["z"], output_dim=2, loss_weight=[1.0],
                                 neuron="tanh")],
              dtype="float64", force_backward=True)
    assert net.layer("y_a_0_split").tops == ["y_a_0_split_0", "y_a_0_split_1"]
    net.blobs["x"].data[...] = rng.normal(size=(4, 3))
    net.forward()
    net.backward()
    # dL/dy = 1 (its own weight) + what flows back through 'b'.
    z, weight_b = net.blobs["z"].data, net.params["b"][0].data
    np.testing.assert_allclose(net.blobs["y"].diff, 1 + (1 - z ** 2) @ weight_b, rtol=1e-12)
    report = check_gradients(net, projection=False)
    assert report.max_error < 1e-6, report


def test_a_reader_that_takes_no_gradient_changes_no_gradient(rng):
    from graphnet.layers import BinaryAccuracy, BinaryCrossEntropyLoss

    def gradients(with_accuracy):
        layers = [Input(name="in", tops=["x", "y"], shapes=[[6, 3], [6, 1]]),
                  InnerProduct(name="ip", bottoms=["x"], tops=["p"], output_dim=1, neuron="sigmoid"),
                  BinaryCrossEntropyLoss(name="loss", bottoms=["p", "y"])]
        if with_accuracy:
            layers.append(BinaryAccuracy(name="acc", bottoms=["p", "y"]))
        net = Net("n", layers, dtype="float64", seed=4)
        net.blobs["x"].data[...] = np.random.default_rng(1).normal(size=(6, 3))
        net.blobs["y"].data[...] = [[0], [1], [1], [0], [1], [0]]
        net.forward_backward()
        return net
    plain, split = gradients(False), gradients(True)
    assert split.layer("p_ip_0_split").tops == ["p_ip_0_split_0", "p_ip_0_split_1"]
    assert not split.blobs["p_ip_0_split_1"].has_diff   # the accuracy's top: never a gradient
    np.testing.assert_array_equal(split.param_diff, plain.param_diff)
