"""MultinomialLogisticLoss: forward, gradients, the floor; after Softmax it equals SoftmaxLoss."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import LAYERS, Input, MultinomialLogisticLoss, SoftmaxLoss
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(p, labels, axis=1, class_weights=None, ignore_label=None, normalization="valid"):
    p = np.moveaxis(np.asarray(p, np.float64), axis, -1)
    labels = np.asarray(labels).reshape(p.shape[:-1])
    total, valid = 0.0, 0
    for index in np.ndindex(labels.shape):
        y = int(labels[index])
        if y == ignore_label:
            continue
        weight = 1.0 if class_weights is None else class_weights[y]
        total -= weight * np.log(max(p[index][y], 1e-20))
        valid += 1
    norm = {"valid": max(valid, 1), "batch_size": p.shape[0], "full": labels.size,
            "none": 1}[normalization]
    return total / norm


def probabilities(rng, shape, axis):
    e = np.exp(rng.normal(size=shape))
    return e / e.sum(axis=axis, keepdims=True)


def case(shape, label_shape, axis=1, ignore=0.0, seed=0, **fields):
    rng = np.random.default_rng(seed)
    p = probabilities(rng, shape, axis)
    labels = rng.integers(0, shape[axis], size=label_shape).astype(float)
    if ignore:
        labels[rng.random(label_shape) < ignore] = fields["ignore_label"]
    layer = MultinomialLogisticLoss(name="loss", bottoms=["p", "y"], axis=axis, **fields)
    return layer, p, labels


CASES = {
    "plain": dict(shape=(4, 5), label_shape=(4,)),
    "class weights": dict(shape=(6, 4), label_shape=(6,), class_weights=[1.0, 2.0, 0.5, 0.0]),
    "spatial, size-1 axis, ignore": dict(shape=(2, 3, 4, 5), label_shape=(2, 1, 4, 5), ignore=0.25,
                                         ignore_label=255),
    "axis -1, batch_size": dict(shape=(3, 4, 5), label_shape=(3, 4), axis=-1,
                                normalization="batch_size"),
    "full, ignore": dict(shape=(2, 3, 4), label_shape=(2, 4), ignore=0.3, ignore_label=-1,
                         normalization="full"),
    "none, weights": dict(shape=(5, 3), label_shape=(5,), normalization="none",
                          class_weights=[2.0, 1.0, 0.25]),
}


def test_yaml_and_python_give_the_same_spec():
    from_yaml = layer_from_yaml("{name: loss, type: MultinomialLogisticLoss, bottoms: [p, y],"
                                " class_weights: [1, 2], normalization: none, ignore_label: -1}")
    from_python = MultinomialLogisticLoss(name="loss", bottoms=["p", "y"], class_weights=[1, 2],
                                          normalization="none", ignore_label=-1)
    assert from_yaml == from_python


@pytest.mark.parametrize("name", CASES)
def test_forward_matches_reference(name, backend):
    config = dict(CASES[name])
    layer, p, labels = case(**config)
    _, (loss,) = run_layer(layer, [p, labels], backend=backend)
    expected = reference(p, labels, axis=config.get("axis", 1),
                         **{k: config[k] for k in ("class_weights", "ignore_label", "normalization")
                            if k in config})
    np.testing.assert_allclose(loss, expected, rtol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_gradient(name, backend):
    layer, p, labels = case(**CASES[name])
    report = check_layer(layer, [p, labels], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'p'"}


def test_zero_probability_is_floored(backend):
    p = np.array([[0.0, 1.0], [0.5, 0.5]])
    layer = MultinomialLogisticLoss(name="loss", bottoms=["p", "y"], normalization="none")
    for dtype in ("float32", "float64"):
        _, (loss,) = run_layer(layer, [p, np.array([0.0, 1.0])], backend=backend, dtype=dtype)
        assert loss == pytest.approx(-np.log(1e-20) - np.log(0.5), rel=1e-6)


def test_gradient_is_minus_weight_over_probability():
    layer = MultinomialLogisticLoss(name="loss", bottoms=["p", "y"], class_weights=[1.0, 3.0])
    net = Net("n", [Input(name="in", tops=["p", "y"], shapes=[[2, 2], [2]]), layer],
              dtype="float64", force_backward=True)
    net.blobs["p"].data[...] = [[0.25, 0.75], [0.5, 0.5]]
    net.blobs["y"].data[...] = [0, 1]
    net.forward()
    net.backward()
    # valid normalization: 2 positions; -1/(0.25 * 2) and -3/(0.5 * 2)
    np.testing.assert_allclose(net.blobs["p"].diff, [[-2.0, 0.0], [0.0, -3.0]])


@pytest.mark.parametrize("fields", [
    dict(),
    dict(axis=2, class_weights=[1.0, 0.5, 2.0, 1.5], ignore_label=-1, normalization="full"),
    dict(axis=1, normalization="batch_size"),
])
def test_after_softmax_it_equals_softmax_loss(fields):
    rng = np.random.default_rng(4)
    shape = (3, 4, 4)
    axis = fields.get("axis", 1)
    x = rng.normal(size=shape)
    labels = rng.integers(0, 4, size=(3, 4)).astype(float)
    labels[0, 1] = -1 if "ignore_label" in fields else labels[0, 1]

    def run(layers):
        net = Net("n", [Input(name="in", tops=["x", "y"], shapes=[shape, [3, 4]]), *layers],
                  dtype="float64", force_backward=True)
        net.blobs["x"].data[...] = x
        net.blobs["y"].data[...] = labels
        net.forward()
        net.backward()
        return net.loss, net.blobs["x"].diff.copy()

    fused = run([SoftmaxLoss(name="loss", bottoms=["x", "y"], **fields)])
    pair = run([LAYERS["Softmax"](name="prob", bottoms=["x"], tops=["p"], axis=axis),
                MultinomialLogisticLoss(name="loss", bottoms=["p", "y"], **fields)])
    assert pair[0] == pytest.approx(fused[0], rel=1e-10)
    np.testing.assert_allclose(pair[1], fused[1], rtol=1e-8, atol=1e-12)


def message(call):
    with pytest.raises(GraphnetError) as err:
        call()
    return str(err.value)


def build(p_shape, y_shape, **fields):
    return Net("n", [Input(name="in", tops=["p", "y"], shapes=[p_shape, y_shape]),
                     MultinomialLogisticLoss(name="loss", bottoms=["p", "y"], **fields)])


def test_label_shape_must_fit_the_prediction():
    text = message(lambda: build([2, 3, 4], [2, 3]))
    assert "layer 'loss'" in text and "bottoms" in text
    assert "'p'" in text and "(2, 3, 4)" in text and "'y'" in text and "(2, 3)" in text


def test_class_weights_need_one_per_class():
    text = message(lambda: build([4, 3], [4], class_weights=[1, 2]))
    assert "layer 'loss'" in text and "class_weights" in text
    assert "3 classes" in text and "2 weights" in text


def test_bad_normalization_suggests_the_nearest():
    text = message(lambda: MultinomialLogisticLoss(name="loss", bottoms=["p", "y"],
                                                   normalization="batchsize"))
    assert "layer 'loss'" in text and "normalization" in text
    assert "did you mean 'batch_size'" in text


def test_labels_must_be_class_indices(backend):
    layer = MultinomialLogisticLoss(name="loss", bottoms=["p", "y"])
    text = message(lambda: run_layer(layer, [np.full((2, 3), 1 / 3), np.array([0.0, 3.0])],
                                     backend=backend))
    assert "layer 'loss'" in text and "0 to 2" in text and "got 3" in text


def test_labels_that_are_not_whole_numbers_are_refused(backend):
    layer = MultinomialLogisticLoss(name="loss", bottoms=["p", "y"])
    text = message(lambda: run_layer(layer, [np.full((2, 3), 1 / 3), np.array([0.0, 1.5])],
                                     backend=backend))
    assert text == "layer 'loss': bottoms: labels must be class indices 0 to 2, got 1.5 in 'y'"
