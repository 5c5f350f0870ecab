import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.io.snapshot import Snapshot
from graphnet.layers import BatchNorm, InnerProduct, Input, MemoryData, Scale, SoftmaxLoss
from graphnet.solver import Solver
from graphnet.testing import check_gradients, check_layer
from tests.helpers import layer_from_yaml, run_layer

SHAPES = [(8, 3), (4, 3, 2, 5), (5, 2, 7)]


def batch_norm(**fields):
    return BatchNorm(name="bn", **{"bottoms": ["x"], "tops": ["y"], **fields})


def normalize(x, mean, var, eps=1e-5):
    """Plain per-channel normalization; mean and var have one value per channel."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        out[:, c] = (x[:, c] - mean[c]) / np.sqrt(var[c] + eps)
    return out


def channel_stats(x, ddof=0):
    values = [x[:, c].ravel() for c in range(x.shape[1])]
    return np.array([v.mean() for v in values]), np.array([v.var(ddof=ddof) for v in values])


def message(call):
    with pytest.raises(GraphnetError) as err:
        call()
    return str(err.value)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: bn, type: BatchNorm, bottoms: [x], tops: [y], "
                           "moving_average_fraction: 0.9, eps: 0.001}") == \
        batch_norm(moving_average_fraction=0.9, eps=1e-3)
    layer = batch_norm()
    assert (layer.use_global_stats, layer.moving_average_fraction, layer.eps) == (None, 0.999, 1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_train_forward_uses_batch_statistics(backend, rng, shape):
    x = rng.normal(2.0, 3.0, size=shape)
    _, (y,) = run_layer(batch_norm(), [x], backend=backend)
    np.testing.assert_allclose(y, normalize(x, *channel_stats(x)), rtol=1e-10, atol=1e-12)
    axes = (0, *range(2, len(shape)))
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_train_gradient(backend, rng, shape):
    # A small spread makes the gradients large beside the rounding of the differences.
    x = rng.normal(1.0, 0.5, size=shape)
    report = check_layer(batch_norm(eps=1e-3), [x], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'x'"}  # the running statistics are not learned


@pytest.mark.parametrize("shape", SHAPES)
def test_global_stats_gradient(backend, rng, shape):
    net = Net("n", [Input(name="in", tops=["x"], shapes=[shape]), batch_norm(use_global_stats=True)],
              backend=backend, dtype="float64", force_backward=True)
    mean, variance, _ = net.params["bn"]
    mean.data[...] = net.backend.asarray(rng.normal(size=shape[1]))
    variance.data[...] = net.backend.asarray(rng.uniform(0.5, 2.0, size=shape[1]))
    x = rng.normal(size=shape)
    net.blobs["x"].data[...] = net.backend.asarray(x)
    report = check_gradients(net)
    assert report.max_error < 1e-6, report
    y = net.backend.to_host(net.blobs["y"].data)
    np.testing.assert_allclose(y, normalize(x, net.backend.to_host(mean.data),
                                            net.backend.to_host(variance.data)), rtol=1e-10)


def bn_nets(shape, backend="numpy", dtype="float64", **fields):
    layers = [Input(name="in", tops=["x"], shapes=[shape]), batch_norm(**fields)]
    train = Net("n", layers, backend=backend, dtype=dtype)
    test = Net("n", layers, phase="test", backend=backend, dtype=dtype, share_with=train)
    return train, test


@pytest.mark.parametrize("fraction", [0.999, 0.6, 0.0, 1.0])
@pytest.mark.parametrize("shape", [(6, 3), (3, 2, 2, 3)])
def test_running_statistics_then_test_phase(backend, rng, fraction, shape):
    train, test = bn_nets(shape, backend, moving_average_fraction=fraction)
    host = train.backend.to_host
    batches = [rng.normal(k, 1.0 + k, size=shape) for k in range(4)]
    for x in batches:
        train.blobs["x"].data[...] = train.backend.asarray(x)
        train.forward()
    # Caffe's average: sum_k f^k stat_k / sum_k f^k, newest batch k = 0, unbiased variance.
    weights = np.array([fraction ** k for k in range(len(batches))][::-1])
    means, variances = zip(*(channel_stats(x, ddof=1) for x in batches))
    want_mean = weights @ np.array(means) / weights.sum()
    want_var = weights @ np.array(variances) / weights.sum()
    mean, variance, count = train.params["bn"]
    np.testing.assert_allclose(host(mean.data), want_mean, rtol=1e-10)
    np.testing.assert_allclose(host(variance.data), want_var, rtol=1e-10)
    np.testing.assert_allclose(host(count.data), [weights.sum()], rtol=1e-12)
    x = rng.normal(size=shape)
    test.blobs["x"].data[...] = test.backend.asarray(x)
    test.forward()
    np.testing.assert_allclose(host(test.blobs["y"].data), normalize(x, want_mean, want_var), rtol=1e-10)
    np.testing.assert_allclose(host(mean.data), want_mean, rtol=1e-10)  # the test net only reads them


def test_before_training_the_test_phase_is_near_identity(rng):
    x = rng.normal(size=(4, 3, 2))
    _, (y,) = run_layer(batch_norm(), [x], phase="test")
    np.testing.assert_allclose(y, x / np.sqrt(1 + 1e-5), rtol=1e-12)


def test_global_stats_in_training_leave_them_alone(rng):
    net, _ = run_layer(batch_norm(use_global_stats=True), [rng.normal(size=(4, 3))])
    np.testing.assert_array_equal(net.params["bn"][0].data, 0)
    np.testing.assert_array_equal(net.params["bn"][1].data, 1)
    np.testing.assert_array_equal(net.params["bn"][2].data, 0)


def test_batch_statistics_in_the_test_phase(rng):
    x = rng.normal(3.0, 2.0, size=(5, 4))
    _, (y,) = run_layer(batch_norm(use_global_stats=False), [x], phase="test")
    np.testing.assert_allclose(y, normalize(x, *channel_stats(x)), rtol=1e-10)


def test_float32_stays_float32(rng):
    x = rng.normal(size=(4, 3, 5)).astype(np.float32)
    net = Net("n", [Input(name="in", tops=["x"], shapes=[x.shape]), batch_norm()], force_backward=True)
    net.blobs["x"].data[...] = x
    net.forward()
    net.backward(top_diffs={"y": rng.normal(size=x.shape)})
    layer = net.layer("bn")
    for array in (net.blobs["y"].data, net.blobs["x"].diff, layer.inv_std, layer.batch_mean,
                  *(p.data for p in net.params["bn"])):
        assert array.dtype == np.float32
    np.testing.assert_allclose(net.blobs["y"].data, normalize(x.astype(np.float64), *channel_stats(x)),
                               rtol=1e-4, atol=1e-5)


def test_running_statistics_are_parameters_shared_with_the_test_net():
    train, test = bn_nets((4, 3))
    params = train.params["bn"]
    assert [p.key for p in params] == ["bn/mean", "bn/variance", "bn/count"]
    assert [p.shape for p in params] == [(3,), (3,), (1,)]
    assert all(p.lr_mult == 0 and p.decay_mult == 0 and not p.needs_grad for p in params)
    assert all(a is b for a, b in zip(test.params["bn"], params))
    assert test.owned_params == []


def test_solver_keeps_its_hands_off_and_snapshots_them(tmp_path, rng):
    """Momentum and weight decay change nothing; the forwards alone move the statistics."""
    x = rng.normal(2.0, 3.0, size=(12, 3))
    labels = rng.integers(0, 2, size=12).astype(float)
    layers = [MemoryData(name="data", tops=["x", "label"], batch_size=4, data=[x, labels]),
              batch_norm(moving_average_fraction=0.5),
              Scale(name="scale", bottoms=["y"], tops=["y"], bias=True),
              InnerProduct(name="ip", bottoms=["y"], tops=["z"], output_dim=2),
              SoftmaxLoss(name="loss", bottoms=["z", "label"])]
    net = Net("bn", layers, dtype="float64")
    solver = Solver("sgd", lr_policy=0.1, momentum=0.9, weight_decay=0.1, max_iter=5,
                    run_dir=str(tmp_path)).solve(net)
    batches = [x[i:i + 4] for i in (0, 4, 8, 0, 4)]
    weights = 0.5 ** np.arange(5)[::-1]
    means, variances = zip(*(channel_stats(b, ddof=1) for b in batches))
    want = weights @ np.array(means) / weights.sum(), weights @ np.array(variances) / weights.sum()
    np.testing.assert_allclose(net.params["bn"][0].data, want[0], rtol=1e-10)
    np.testing.assert_allclose(net.params["bn"][1].data, want[1], rtol=1e-10)
    assert np.abs(net.params["scale"][0].data - 1).max() > 1e-3  # the scale did learn
    with Snapshot(solver.snapshot()) as snap:
        np.testing.assert_array_equal(snap.params["bn/mean"], net.params["bn"][0].data)
        np.testing.assert_array_equal(snap.params["bn/variance"], net.params["bn"][1].data)
        fresh = Net("bn", layers, phase="test", dtype="float64")
        snap.load_params(fresh)
    np.testing.assert_array_equal(fresh.params["bn"][1].data, net.params["bn"][1].data)


@pytest.mark.parametrize("fields, field, words", [
    (dict(eps=0), "eps", "must be > 0, got 0"),
    (dict(moving_average_fraction=1.5), "moving_average_fraction", "must be <= 1, got 1.5"),
    (dict(moving_average_fraction=-0.1), "moving_average_fraction", "must be >= 0"),
    (dict(use_global_stats="yes"), "use_global_stats", "must be true or false"),
    (dict(param={"mean": {"lr_mult": 1}}), "param", "'mean' is a running statistic"),
    (dict(param={"variance": {"lr_mult": 0.5, "decay_mult": 0}}), "param", "lr_mult must be 0, got 0.5"),
    (dict(bottoms=["x", "z"]), "bottoms", "exactly 1, got 2"),
    (dict(gamma=1.0), "gamma", "unknown field"),
])
def test_bad_fields(fields, field, words):
    text = message(lambda: batch_norm(**fields))
    assert "layer 'bn'" in text and field in text and words in text, text


def test_zero_lr_mult_override_is_allowed():
    net = Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                    batch_norm(param={"mean": {"lr_mult": 0, "decay_mult": 0}})])
    assert net.params["bn"][0].lr_mult == 0


def test_needs_a_channel_axis():
    text = message(lambda: Net("n", [Input(name="in", tops=["x"], shapes=[[6]]), batch_norm()]))
    assert "layer 'bn'" in text and "bottoms" in text and "'x'" in text and "(6,)" in text
    assert "channels along axis 1" in text


def test_cannot_run_in_place():
    text = message(lambda: Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                                     batch_norm(tops=["x"])]))
    assert "layer 'bn'" in text and "tops" in text and "cannot run in place" in text


def test_unknown_parameter_name():
    text = message(lambda: Net("n", [Input(name="in", tops=["x"], shapes=[[2, 3]]),
                                     batch_norm(param={"means": {"decay_mult": 0}})]))
    assert "layer 'bn'" in text and "no parameter 'means'" in text and "did you mean 'mean'" in text
