"""The net builder: ordering, in-place, splits, sharing, loss weights, backward flags, phases."""

import numpy as np
import pytest

import graphnet
from graphnet import GraphnetError, Net
from graphnet.layers import Input, InnerProduct, MemoryData, ReLU, Split
from graphnet.testing import check_gradients


def mlp(order=None, **kwargs):
    layers = [
        MemoryData(name="data", tops=["x", "y"], batch_size=8, source={"type": "parity", "n": 32}),
        InnerProduct(name="hid", bottoms=["x"], tops=["h"], output_dim=5, neuron="tanh"),
        InnerProduct(name="out", bottoms=["h"], tops=["p"], output_dim=1, loss_weight=[1.0]),
    ]
    if order:
        layers = [layers[i] for i in order]
    return Net("mlp", layers, **kwargs)


def test_layers_may_be_listed_in_any_order():
    nets = [mlp(order) for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0])]
    assert all([l.name for l in n.layers] == ["data", "hid", "out"] for n in nets)
    losses = [n.forward() for n in nets]
    assert losses[0] == losses[1] == losses[2]


def test_pycaffe_style_access():
    net = mlp()
    loss = net.forward()
    assert net.loss == loss == pytest.approx(float(net.blobs["p"].data.sum()))
    net.backward()
    weight, bias = net.params["hid"]
    assert (weight.name, bias.name) == ("weight", "bias")
    assert weight.data.shape == weight.diff.shape == (5, 3)
    assert np.abs(weight.diff).sum() > 0
    assert net.blobs["h"].diff.shape == (8, 5)
    assert net.outputs == ["y", "p"]


def test_backward_accumulates_until_cleared():
    net = mlp()
    net.forward()
    net.backward()
    once = net.params["hid"][0].diff.copy()
    net.backward()
    np.testing.assert_allclose(net.params["hid"][0].diff, 2 * once)
    net.clear_param_diffs()
    assert not net.params["hid"][0].diff.any()


def test_whole_net_gradient_matches_finite_differences():
    net = mlp(dtype="float64")
    report = check_gradients(net)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"param 'hid/weight'", "param 'hid/bias'",
                                  "param 'out/weight'", "param 'out/bias'"}


def test_in_place_layer_runs_between_producer_and_readers():
    layers = [InnerProduct(name="out", bottoms=["h"], tops=["p"], output_dim=2),
              ReLU(name="relu", bottoms=["h"], tops=["h"]),
              InnerProduct(name="hid", bottoms=["x"], tops=["h"], output_dim=4),
              Input(name="in", tops=["x"], shapes=[[3, 2]])]
    net = Net("inplace", layers)
    assert [l.name for l in net.layers] == ["in", "hid", "relu", "out"]
    net.blobs["x"].data[...] = np.random.default_rng(0).normal(size=(3, 2))
    net.forward()
    h = net.blobs["h"].data
    assert (h >= 0).all() and (h == 0).any()
    w, b = net.params["out"]
    np.testing.assert_allclose(net.blobs["p"].data, h @ w.data.T + b.data, rtol=1e-6)


def test_fan_out_inserts_a_split_and_sums_gradients():
    layers = [Input(name="in", tops=["x"], shapes=[[4, 3]]),
              InnerProduct(name="a", bottoms=["x"], tops=["ya"], output_dim=2, loss_weight=[1.0]),
              InnerProduct(name="b", bottoms=["x"], tops=["yb"], output_dim=2, loss_weight=[0.5],
                           neuron="sigmoid")]
    net = Net("fan", layers, dtype="float64", force_backward=True)
    split = net.layer("x_in_0_split")
    assert isinstance(split, Split) and split.tops == ["x_in_0_split_0", "x_in_0_split_1"]
    assert net.layer("a").bottoms == ["x_in_0_split_0"]
    net.blobs["x"].data[...] = np.random.default_rng(1).normal(size=(4, 3))
    report = check_gradients(net, projection=False)
    assert report.max_error < 1e-6, report
    assert "bottom 'x'" in report.errors


def test_a_blob_read_and_weighed_in_the_loss_is_split_too():
    layers = [Input(name="in", tops=["x"], shapes=[[4, 3]]),
              InnerProduct(name="a", bottoms=["x"], tops=["h"], output_dim=2, loss_weight=[1.0]),
              InnerProduct(name="b", bottoms=["h"], tops=["y"], output_dim=2, loss_weight=[1.0])]
    net = Net("weighed", layers, dtype="float64")
    assert any(isinstance(l, Split) for l in net.layers)
    net.blobs["x"].data[...] = np.random.default_rng(2).normal(size=(4, 3))
    loss = net.forward()
    assert loss == pytest.approx(net.blobs["h"].data.sum() + net.blobs["y"].data.sum())
    assert check_gradients(net).max_error < 1e-6


def test_loss_weight_scales_loss_and_gradients():
    def run(weight):
        net = mlp(dtype="float64")
        net.layer("out").params  # built
        net = Net("mlp", [MemoryData(name="data", tops=["x", "y"], batch_size=8,
                                     source={"type": "parity", "n": 32}),
                          InnerProduct(name="out", bottoms=["x"], tops=["p"], output_dim=1,
                                       loss_weight=[weight])], dtype="float64")
        loss = net.forward_backward()
        return loss, net.params["out"][0].diff.copy()
    (l1, g1), (l2, g2) = run(1.0), run(2.5)
    assert l2 == pytest.approx(2.5 * l1)
    np.testing.assert_allclose(g2, 2.5 * g1)


def test_param_key_shares_parameters_within_a_net():
    layers = [Input(name="in", tops=["x1", "x2"], shapes=[[4, 3], [4, 3]]),
              InnerProduct(name="a", bottoms=["x1"], tops=["y1"], output_dim=2, param_key="tied",
                           loss_weight=[1.0]),
              InnerProduct(name="b", bottoms=["x2"], tops=["y2"], output_dim=2, param_key="tied",
                           loss_weight=[1.0], neuron="tanh")]
    net = Net("tied", layers, dtype="float64")
    assert net.params["a"][0] is net.params["b"][0]
    assert net.param_data.size == 2 * 3 + 2
    rng = np.random.default_rng(3)
    for name in ("x1", "x2"):
        net.blobs[name].data[...] = rng.normal(size=(4, 3))
    assert check_gradients(net).max_error < 1e-6


def test_shared_parameter_of_another_shape_is_an_error():
    layers = [Input(name="in", tops=["x1", "x2"], shapes=[[4, 3], [4, 5]]),
              InnerProduct(name="a", bottoms=["x1"], tops=["y1"], output_dim=2, param_key="tied"),
              InnerProduct(name="b", bottoms=["x2"], tops=["y2"], output_dim=2, param_key="tied")]
    with pytest.raises(GraphnetError) as err:
        Net("tied", layers)
    message = str(err.value)
    assert "layer 'b'" in message and "param_key" in message
    assert "(2, 3)" in message and "(2, 5)" in message


def test_test_net_shares_parameters_with_train_net():
    train = mlp()
    test = mlp(phase="test", share_with=train)
    assert test.params["hid"][0] is train.params["hid"][0]
    assert test.param_data.size == 0
    before = test.forward()
    train.params["out"][1].data[...] += 1.0
    assert test.forward(sources=False) == pytest.approx(before + 8.0, rel=1e-5)


def test_frozen_layers_and_zero_lr_take_no_gradient():
    net = mlp()
    net.freeze("hid")
    assert not net.params["hid"][0].needs_grad
    assert not net.layer("hid").need_backward
    net.forward_backward()
    assert not net.params["hid"][0].diff.any() and net.params["out"][0].diff.any()
    net.unfreeze("hid")
    assert net.layer("hid").need_backward

    layers = [MemoryData(name="data", tops=["x", "y"], batch_size=4, source="parity"),
              InnerProduct(name="hid", bottoms=["x"], tops=["h"], output_dim=2, frozen=True,
                           param={"bias": {"lr_mult": 0}}),
              InnerProduct(name="out", bottoms=["h"], tops=["p"], output_dim=1, loss_weight=[1.0],
                           param={"weight": {"lr_mult": 0.5, "decay_mult": 2}})]
    net = Net("frozen", layers)
    assert net.params["hid"][1].lr_mult == 0 and net.params["hid"][0].frozen
    assert (net.params["out"][0].lr_mult, net.params["out"][0].decay_mult) == (0.5, 2)
    assert (net.params["out"][1].lr_mult, net.params["out"][1].decay_mult) == (2.0, 0.0)
    assert not net.layer("hid").need_backward
    assert net.layer("out").propagate == [False]


def test_data_layers_and_layers_off_the_loss_path_skip_backward():
    layers = [MemoryData(name="data", tops=["x", "y"], batch_size=4, source="parity"),
              InnerProduct(name="hid", bottoms=["x"], tops=["h"], output_dim=2),
              InnerProduct(name="side", bottoms=["h"], tops=["s"], output_dim=2),
              InnerProduct(name="out", bottoms=["h"], tops=["p"], output_dim=1, loss_weight=[1.0])]
    net = Net("paths", layers)
    need = {l.name: l.need_backward for l in net.layers}
    assert need == {"data": False, "hid": True, "h_hid_0_split": True, "side": False, "out": True}
    assert net.layer("hid").propagate == [False]  # x comes from data: no gradient wanted


def test_propagate_down_false_stops_the_gradient():
    layers = [MemoryData(name="data", tops=["x", "y"], batch_size=4, source="parity"),
              InnerProduct(name="hid", bottoms=["x"], tops=["h"], output_dim=2),
              InnerProduct(name="out", bottoms=["h"], tops=["p"], output_dim=1, loss_weight=[1.0],
                           propagate_down=[False])]
    net = Net("stop", layers)
    assert net.layer("out").propagate == [False]
    assert not net.layer("hid").need_backward


def test_phase_filtering_and_rules():
    layers = [Input(name="in", tops=["x"], shapes=[[2, 3]]),
              InnerProduct(name="train_only", bottoms=["x"], tops=["a"], output_dim=1, phase="train"),
              InnerProduct(name="test_only", bottoms=["x"], tops=["b"], output_dim=1,
                           include=[{"phase": "test"}]),
              InnerProduct(name="not_deploy", bottoms=["x"], tops=["c"], output_dim=1,
                           exclude=[{"stage": ["deploy"]}]),
              InnerProduct(name="deep", bottoms=["x"], tops=["d"], output_dim=1,
                           include=[{"min_level": 2}])]
    names = lambda **kw: [l.name for l in Net("rules", layers, **kw).layers if not isinstance(l, Split)]
    assert names(phase="train") == ["in", "train_only", "not_deploy"]
    assert names(phase="test") == ["in", "test_only", "not_deploy"]
    assert names(phase="test", stages=["deploy"]) == ["in", "test_only"]
    assert names(phase="train", level=3) == ["in", "train_only", "not_deploy", "deep"]


@pytest.mark.parametrize("layers, words", [
    ([Input(name="in", tops=["x"], shapes=[[2, 3]]),
      InnerProduct(name="ip", bottoms=["z"], tops=["y"], output_dim=1)],
     ["layer 'ip'", "bottoms", "'z' is not produced"]),
    ([Input(name="in", tops=["x"], shapes=[[2, 3]]),
      InnerProduct(name="ip", bottoms=["x"], tops=["x"], output_dim=3)],
     ["layer 'ip'", "tops", "cannot run in place"]),
    ([Input(name="in", tops=["x"], shapes=[[2, 3]]),
      InnerProduct(name="ip", bottoms=["x"], tops=["y"], output_dim=1),
      InnerProduct(name="ip2", bottoms=["x"], tops=["y"], output_dim=1)],
     ["layer 'ip2'", "tops", "'y' is already produced by layer 'ip'"]),
    ([InnerProduct(name="a", bottoms=["yb"], tops=["ya"], output_dim=1),
      InnerProduct(name="b", bottoms=["ya"], tops=["yb"], output_dim=1)],
     ["bottoms", "cycle", "'a'", "'b'"]),
    ([Input(name="in", tops=["x"], shapes=[[2, 3]]),
      Input(name="in", tops=["z"], shapes=[[2, 3]])],
     ["layer 'in'", "name", "another layer has this name"]),
])
def test_topology_mistakes_name_the_net_layer_and_field(layers, words):
    with pytest.raises(GraphnetError) as err:
        Net("broken", layers)
    message = str(err.value)
    assert message.startswith("net 'broken': layer '")
    for word in words:
        assert word in message


def test_net_accepts_only_layers():
    with pytest.raises(TypeError, match="Layer objects"):
        Net("bad", [{"name": "x"}])


def test_user_layer_objects_are_not_changed_by_building():
    hid = InnerProduct(name="hid", bottoms=["x"], tops=["h"], output_dim=2)
    spec = dict(hid.spec)
    Net("a", [Input(name="in", tops=["x", "z"], shapes=[[2, 3], [2, 3]]), hid,
              InnerProduct(name="o", bottoms=["x"], tops=["o"], output_dim=1)])
    assert hid.spec == spec and not hasattr(hid, "xp")


def test_float64_and_seed():
    a, b, c = mlp(dtype="float64", seed=5), mlp(dtype="float64", seed=5), mlp(dtype="float64", seed=6)
    assert a.param_data.dtype == np.float64
    assert np.array_equal(a.param_data, b.param_data)
    assert not np.array_equal(a.param_data, c.param_data)
    assert graphnet.get_backend("numpy").dtype == np.float32


def test_in_place_layer_after_a_layer_that_reads_its_output_gets_its_own_input():
    from graphnet.layers import Dropout, Softmax
    layers = [Input(name="in", tops=["x"], shapes=[[3, 4]]),
              InnerProduct(name="ip", bottoms=["x"], tops=["h"], output_dim=5, neuron="sigmoid"),
              Dropout(name="drop", bottoms=["h"], tops=["h"]),
              Softmax(name="soft", bottoms=["h"], tops=["s"]),
              ReLU(name="relu", bottoms=["s"], tops=["s"])]
    net = Net("n", layers, dtype="float64", force_backward=True)
    assert net.layer("ip").kept_tops == {"h"} and net.layer("soft").kept_tops == {"s"}
    assert net.layer("drop").kept_tops == set()
    net.blobs["x"].data[...] = np.random.default_rng(0).normal(size=(3, 4))
    assert check_gradients(net).max_error < 1e-6
    # Layers whose backward does not read their output still run in place.
    plain = Net("p", [Input(name="in", tops=["x"], shapes=[[3, 4]]),
                      InnerProduct(name="ip", bottoms=["x"], tops=["h"], output_dim=5),
                      ReLU(name="relu", bottoms=["h"], tops=["h"])])
    assert plain.layer("ip").top_blobs[0] is plain.layer("relu").top_blobs[0]
    assert plain.layer("ip").kept_tops == set()


def test_setup_errors_name_the_blob_the_user_wrote_not_its_split():
    from graphnet.layers import ElementWise
    layers = [Input(name="in", tops=["x", "z"], shapes=[[2, 3], [2, 4]]),
              InnerProduct(name="ip", bottoms=["x"], tops=["h"], output_dim=3),
              ElementWise(name="add", bottoms=["x", "z"], tops=["s"])]
    with pytest.raises(GraphnetError) as err:
        Net("n", layers)
    assert "shapes differ: 'x' is (2, 3), 'z' is (2, 4)" in str(err.value), str(err.value)


def test_statistics_average_every_pass_since_the_reset():
    from graphnet.layers import BinaryAccuracy, BinaryCrossEntropyLoss
    net = Net("stats", [
        MemoryData(name="data", tops=["x", "y"], batch_size=8, source={"type": "parity", "n": 24}),
        InnerProduct(name="out", bottoms=["x"], tops=["p"], output_dim=1, neuron="sigmoid"),
        BinaryCrossEntropyLoss(name="loss", bottoms=["p", "y"]),
        BinaryAccuracy(name="accuracy", bottoms=["p", "y"])])
    assert net.statistics() == {}
    seen = []
    for _ in range(3):
        loss = net.forward()
        assert loss == float(net.blobs["loss"].data)
        seen.append({name: float(net.blobs[name].data) for name in ("loss", "accuracy")})
    expected = {name: sum(s[name] for s in seen) / 3 for name in ("loss", "accuracy")}
    assert net.statistics() == {name: pytest.approx(v, rel=1e-6) for name, v in expected.items()}
    net.reset_statistics()
    assert net.statistics() == {}
    net.forward()
    assert net.statistics()["loss"] == pytest.approx(float(net.blobs["loss"].data))
