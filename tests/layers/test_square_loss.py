"""SquareLoss: 1/(2N) sum ||p - y||^2, gradients to both bottoms, shape errors."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, SquareLoss
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer

SHAPES = [(4,), (4, 3), (2, 3, 4, 5)]


def reference(p, y):
    total = 0.0
    for n in range(len(p)):
        total += float(np.sum((p[n] - y[n]) ** 2))
    return total / (2 * len(p))


def test_yaml_and_python_give_the_same_spec():
    assert (layer_from_yaml("{name: loss, type: SquareLoss, bottoms: [p, y], loss_weight: 0.5}")
            == SquareLoss(name="loss", bottoms=["p", "y"], loss_weight=[0.5]))


@pytest.mark.parametrize("shape", SHAPES)
def test_forward_matches_reference(shape, backend):
    rng = np.random.default_rng(0)
    p, y = rng.normal(size=shape), rng.normal(size=shape)
    _, (loss,) = run_layer(SquareLoss(name="loss", bottoms=["p", "y"]), [p, y], backend=backend)
    np.testing.assert_allclose(loss, reference(p, y), rtol=1e-12)


def test_forward_by_hand(backend):
    p, y = np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([[1.0, 0.0], [3.0, 4.0]])
    _, (loss,) = run_layer(SquareLoss(name="loss", bottoms=["p", "y"]), [p, y], backend=backend)
    assert loss == pytest.approx((4 + 25) / 4)


@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_reaches_both_bottoms(shape, backend):
    rng = np.random.default_rng(1)
    layer = SquareLoss(name="loss", bottoms=["p", "y"])
    report = check_layer(layer, [rng.normal(size=shape), rng.normal(size=shape)], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'p'", "bottom 'y'"}


def test_gradient_by_hand():
    net = Net("n", [Input(name="in", tops=["p", "y"], shapes=[[2, 2], [2, 2]]),
                    SquareLoss(name="loss", bottoms=["p", "y"], loss_weight=[3.0])],
              dtype="float64", force_backward=True)
    net.blobs["p"].data[...] = [[1.0, 2.0], [0.0, 0.0]]
    net.blobs["y"].data[...] = [[1.0, 0.0], [3.0, 4.0]]
    net.forward()
    net.backward()
    assert net.loss == pytest.approx(3 * 29 / 4)
    np.testing.assert_allclose(net.blobs["p"].diff, 3 * np.array([[0.0, 1.0], [-1.5, -2.0]]))
    np.testing.assert_allclose(net.blobs["y"].diff, -net.blobs["p"].diff)


@pytest.mark.parametrize("shapes", [([4, 3], [4, 2]), ([4, 3], [4]), ([4, 3], [3, 3])])
def test_shapes_must_be_equal(shapes):
    with pytest.raises(GraphnetError) as err:
        Net("n", [Input(name="in", tops=["p", "y"], shapes=list(shapes)),
                  SquareLoss(name="loss", bottoms=["p", "y"])])
    text = str(err.value)
    assert "layer 'loss'" in text and "bottoms" in text and "shapes differ" in text
    assert f"'p' is {tuple(shapes[0])}" in text and f"'y' is {tuple(shapes[1])}" in text


def test_needs_two_bottoms():
    with pytest.raises(GraphnetError) as err:
        SquareLoss(name="loss", bottoms=["p", "y", "z"])
    assert "layer 'loss'" in str(err.value) and "exactly 2" in str(err.value)


@pytest.mark.parametrize("kind", ["SquareLoss", "BinaryCrossEntropyLoss", "HingeLoss", "BinaryAccuracy"])
def test_a_single_number_is_not_a_batch(kind):
    # Two losses' tops are single numbers: these layers average over samples, and had none.
    from graphnet.layers import LAYERS
    layers = [Input(name="in", tops=["p", "y"], shapes=[[4], [4]]),
              SquareLoss(name="a", bottoms=["p", "y"]), SquareLoss(name="b", bottoms=["y", "p"]),
              LAYERS[kind](name="l", bottoms=["a", "b"])]
    with pytest.raises(GraphnetError) as err:
        Net("n", layers)
    assert str(err.value) == (f"net 'n': layer 'l': bottoms: 'a' is a single number; {kind} needs a "
                              "batch, samples along axis 0")
