"""SigmoidCrossEntropyLoss: against a float64 log loss of the sigmoid, Caffe's normalizations,
huge logits, ignore_label; gradient."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, SigmoidCrossEntropyLoss
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def loss(**fields):
    return SigmoidCrossEntropyLoss(name="loss", bottoms=["x", "t"], **fields)


def reference(x, t, normalization="batch_size", ignore_label=None):
    """-sum [t log p + (1 - t) log(1 - p)] / normalizer, written out term by term."""
    total, valid = 0.0, 0
    for xi, ti in zip(x.ravel(), t.ravel()):
        if ti == ignore_label:
            continue
        p = 1 / (1 + np.exp(-xi))
        total -= ti * np.log(p) + (1 - ti) * np.log(1 - p)
        valid += 1
    return total / max({"batch_size": x.shape[0], "full": x.size, "valid": valid, "none": 1}[normalization], 1)


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: loss, type: SigmoidCrossEntropyLoss, bottoms: [x, t], "
                           "normalization: full}") == loss(normalization="full")
    assert loss().normalization == "batch_size"    # Caffe's default for this layer


@pytest.mark.parametrize("normalization", ["batch_size", "full", "valid", "none"])
def test_forward_and_gradient(backend, rng, normalization):
    x, t = rng.normal(size=(4, 3, 2)) * 3, rng.uniform(size=(4, 3, 2))
    _, (value,) = run_layer(loss(normalization=normalization), [x, t], backend=backend)
    assert value == pytest.approx(reference(x, t, normalization), rel=1e-12)
    report = check_layer(loss(normalization=normalization), [x, t], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'x'"}


@pytest.mark.parametrize("normalization", ["batch_size", "valid"])
def test_ignore_label(rng, normalization):
    x, t = rng.normal(size=(5, 4)), (rng.uniform(size=(5, 4)) > 0.5).astype(float)
    t[rng.uniform(size=t.shape) < 0.3] = -1
    layer = loss(ignore_label=-1, normalization=normalization)
    _, (value,) = run_layer(layer, [x, t])
    assert value == pytest.approx(reference(x, t, normalization, ignore_label=-1), rel=1e-12)
    report = check_layer(layer, [x, t])
    assert report.max_error < 1e-6, report


def test_large_logits_stay_exact(backend):
    # Sigmoid + BinaryCrossEntropyLoss would give about 27.6 for each wrong term (its 1e-12 floor).
    x = np.array([[1000.0, -1000.0, 40.0, -40.0]])
    t = np.array([[0.0, 1.0, 1.0, 0.0]])
    net = Net("n", [Input(name="in", tops=["x", "t"], shapes=[x.shape, t.shape]), loss()],
              backend=backend, dtype="float64", force_backward=True)
    net.blobs["x"].data[...] = net.backend.asarray(x)
    net.blobs["t"].data[...] = net.backend.asarray(t)
    assert net.forward() == pytest.approx(2000.0 + 2 * np.log1p(np.exp(-40.0)), rel=1e-12)
    net.backward()
    dx = net.backend.to_host(net.blobs["x"].diff)
    np.testing.assert_allclose(dx, [[1.0, -1.0, -np.exp(-40.0) / (1 + np.exp(-40.0)),
                                     1 / (1 + np.exp(40.0))]], rtol=1e-9, atol=1e-16)
    assert np.isfinite(dx).all()


def test_float32_matches(rng):
    x, t = rng.normal(size=(8, 5)) * 20, rng.uniform(size=(8, 5))
    _, (value,) = run_layer(loss(), [x, t], dtype="float32")
    assert value == pytest.approx(reference(x.astype(np.float32).astype(float),
                                            t.astype(np.float32).astype(float)), rel=1e-5)


@pytest.mark.parametrize("bottoms, message", [
    ([np.zeros((2, 3)), np.full((2, 3), 1.5)], "bottoms: targets must lie in [0, 1], got 1.5 in 't'"),
])
def test_mistakes(bottoms, message):
    with pytest.raises(GraphnetError) as err:
        run_layer(loss(), bottoms)
    assert f"layer 'loss': {message}" in str(err.value)


def test_deploy_net_gives_probabilities():
    from graphnet.deploy import deploy_layers
    from graphnet.layers import InnerProduct
    layers = deploy_layers([Input(name="in", tops=["x", "t"], shapes=[[2, 3], [2, 4]]),
                            InnerProduct(name="ip", bottoms=["x"], tops=["z"], output_dim=4),
                            SigmoidCrossEntropyLoss(name="loss", bottoms=["z", "t"])], {})
    assert [type(l).__name__ for l in layers] == ["Input", "InnerProduct", "Sigmoid"]
    assert (layers[-1].bottoms, layers[-1].tops) == (["z"], ["prob"])
    assert layers[0].tops == ["x"]
