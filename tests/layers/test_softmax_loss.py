"""SoftmaxLoss: forward against explicit loops, gradients, loss weight, every bad input."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import Input, SoftmaxLoss
from graphnet.testing import check_layer
from tests.helpers import layer_from_yaml, run_layer


def reference(x, labels, axis=1, class_weights=None, ignore_label=None, normalization="valid"):
    """The loss one position at a time, in float64."""
    x = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    labels = np.asarray(labels).reshape(x.shape[:-1])
    total, valid = 0.0, 0
    for index in np.ndindex(labels.shape):
        y = int(labels[index])
        if y == ignore_label:
            continue
        scores = x[index]
        log_p = scores[y] - np.log(np.sum(np.exp(scores)))
        total -= (1.0 if class_weights is None else class_weights[y]) * log_p
        valid += 1
    norm = {"valid": max(valid, 1), "batch_size": x.shape[0], "full": labels.size,
            "none": 1}[normalization]
    return total / norm


def case(shape, label_shape, axis=1, ignore=0.0, seed=0, **fields):
    """Scores of `shape`, labels of `label_shape`, a fraction `ignore` set to ignore_label."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape) * 2
    labels = rng.integers(0, shape[axis], size=label_shape).astype(float)
    if ignore:
        labels[rng.random(label_shape) < ignore] = fields["ignore_label"]
    layer = SoftmaxLoss(name="loss", bottoms=["x", "y"], axis=axis, **fields)
    return layer, x, labels


CASES = {
    "plain": dict(shape=(4, 5), label_shape=(4,)),
    "label with class axis": dict(shape=(4, 5), label_shape=(4, 1)),
    "class weights": dict(shape=(6, 4), label_shape=(6,), class_weights=[1.0, 2.0, 0.5, 0.0]),
    "ignore": dict(shape=(8, 3), label_shape=(8,), ignore=0.3, ignore_label=-1),
    "spatial": dict(shape=(2, 3, 4, 5), label_shape=(2, 4, 5)),
    "spatial, size-1 axis, ignore, weights": dict(
        shape=(2, 3, 4, 5), label_shape=(2, 1, 4, 5), ignore=0.25, ignore_label=255,
        class_weights=[0.5, 1.0, 3.0]),
    "axis 2": dict(shape=(3, 4, 5), label_shape=(3, 4), axis=2),
    "axis -1": dict(shape=(3, 4, 5), label_shape=(3, 4), axis=-1),
    "batch_size": dict(shape=(2, 3, 4), label_shape=(2, 4), normalization="batch_size"),
    "full, ignore": dict(shape=(2, 3, 4), label_shape=(2, 4), ignore=0.3, ignore_label=7,
                         normalization="full"),
    "none, weights": dict(shape=(5, 3), label_shape=(5,), normalization="none",
                          class_weights=[2.0, 1.0, 0.25]),
}


def test_yaml_and_python_give_the_same_spec():
    from_yaml = layer_from_yaml("{name: loss, type: SoftmaxLoss, bottoms: [x, y], axis: 2,"
                                " class_weights: [1, 2], ignore_label: 255, normalization: full}")
    from_python = SoftmaxLoss(name="loss", bottoms=["x", "y"], axis=2, class_weights=[1.0, 2.0],
                              ignore_label=255, normalization="full")
    assert from_yaml == from_python
    assert SoftmaxLoss(name="l", bottoms=["x", "y"]).normalization == "valid"


@pytest.fixture(params=["whole", "in parts"])
def parts(request, monkeypatch):
    """All positions at once, or cut into parts for the threads (as a sequence model's are)."""
    if request.param == "in parts":
        monkeypatch.setattr(SoftmaxLoss, "part_elements", 1)
    return request.param


@pytest.mark.parametrize("name", CASES)
def test_forward_matches_reference(name, backend, parts):
    config = dict(CASES[name])
    layer, x, labels = case(**config)
    net, (loss,) = run_layer(layer, [x, labels], backend=backend)
    assert loss.shape == ()
    expected = reference(x, labels, axis=config.get("axis", 1),
                         **{k: config[k] for k in ("class_weights", "ignore_label", "normalization")
                            if k in config})
    np.testing.assert_allclose(loss, expected, rtol=1e-12)
    assert net.loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_gradient(name, backend, parts):
    layer, x, labels = case(**CASES[name])
    report = check_layer(layer, [x, labels], backend=backend)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"bottom 'x'"}  # the label takes no gradient


def test_every_position_ignored_costs_nothing(backend):
    layer, x, labels = case((3, 4), (3,), ignore_label=2)
    _, (loss,) = run_layer(layer, [x, np.full(3, 2.0)], backend=backend)
    assert loss == 0.0
    report = check_layer(layer, [x, np.full(3, 2.0)], backend=backend)
    assert report.max_error < 1e-6, report
    assert not report.net.blobs["x"].diff.any()


def test_one_valid_position_is_its_own_average(backend):
    x = np.array([[0.0, np.log(3.0)], [5.0, -5.0]])
    layer = SoftmaxLoss(name="loss", bottoms=["x", "y"], ignore_label=9)
    _, (loss,) = run_layer(layer, [x, np.array([0.0, 9.0])], backend=backend)
    assert loss == pytest.approx(np.log(4.0))


def test_large_scores_are_stable(backend):
    x = np.array([[1000.0, 0.0, -1000.0], [1000.0, 0.0, -1000.0], [-1e4, 1e4, 0.0]])
    labels = np.array([0.0, 1.0, 1.0])
    layer = SoftmaxLoss(name="loss", bottoms=["x", "y"], normalization="none")
    for dtype in ("float32", "float64"):
        _, (loss,) = run_layer(layer, [x, labels], backend=backend, dtype=dtype)
        assert np.isfinite(loss)
        assert loss == pytest.approx(1000.0, rel=1e-6)  # costs 0, 1000 and 0


def test_float32_net_matches_float64_reference(backend):
    layer, x, labels = case(**CASES["spatial, size-1 axis, ignore, weights"])
    net, (loss,) = run_layer(layer, [x, labels], backend=backend, dtype="float32")
    assert loss.dtype == np.float32
    expected = reference(x.astype(np.float32), labels, ignore_label=255,
                         class_weights=[0.5, 1.0, 3.0])
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


def test_gradient_is_softmax_minus_one_hot():
    x = np.array([[0.0, np.log(3.0)], [np.log(3.0), 0.0]])   # softmax rows (1/4, 3/4), (3/4, 1/4)
    layer = SoftmaxLoss(name="loss", bottoms=["x", "y"])
    net = Net("n", [Input(name="in", tops=["x", "y"], shapes=[[2, 2], [2]]), layer],
              dtype="float64", force_backward=True)
    net.blobs["x"].data[...] = x
    net.blobs["y"].data[...] = [0, 0]
    net.forward()
    net.backward()
    np.testing.assert_allclose(net.blobs["x"].diff, [[-3 / 8, 3 / 8], [-1 / 8, 1 / 8]])


def test_loss_weight_scales_loss_and_gradient():
    rng = np.random.default_rng(3)
    x, labels = rng.normal(size=(4, 5)), rng.integers(0, 5, size=4)

    def run(**fields):
        net = Net("n", [Input(name="in", tops=["x", "y"], shapes=[[4, 5], [4]]),
                        SoftmaxLoss(name="loss", bottoms=["x", "y"], **fields)],
                  dtype="float64", force_backward=True)
        net.blobs["x"].data[...] = x
        net.blobs["y"].data[...] = labels
        net.forward()
        net.backward()
        return net.loss, net.blobs["x"].diff.copy()

    loss, grad = run()
    double_loss, double_grad = run(loss_weight=[2.0])
    assert loss > 0
    assert double_loss == pytest.approx(2 * loss, rel=1e-12)
    np.testing.assert_allclose(double_grad, 2 * grad, rtol=1e-12)


def build(x_shape, y_shape, **fields):
    return Net("n", [Input(name="in", tops=["x", "y"], shapes=[x_shape, y_shape]),
                     SoftmaxLoss(name="loss", bottoms=["x", "y"], **fields)])


def message(call):
    with pytest.raises(GraphnetError) as err:
        call()
    return str(err.value)


@pytest.mark.parametrize("x_shape, y_shape, axis", [
    ([4, 5], [4, 3], 1),
    ([2, 3, 4, 5], [2, 3, 4], 1),
    ([2, 3, 4, 5], [2, 2, 4, 5], 1),
    ([2, 3, 4], [2, 3], 1),
])
def test_label_shape_must_fit_the_prediction(x_shape, y_shape, axis):
    text = message(lambda: build(x_shape, y_shape, axis=axis))
    assert "layer 'loss'" in text and "bottoms" in text
    assert "'x'" in text and "'y'" in text
    assert str(tuple(x_shape)) in text and str(tuple(y_shape)) in text


def test_batch_sizes_must_agree():
    text = message(lambda: build([4, 5], [3]))
    assert "layer 'loss'" in text and "bottoms" in text and "batch sizes differ" in text
    assert "(4, 5)" in text and "(3,)" in text


@pytest.mark.parametrize("axis", [0, 2, -3])
def test_axis_must_be_a_class_axis(axis):
    text = message(lambda: build([4, 5], [4], axis=axis))
    assert "layer 'loss'" in text and "axis" in text and "(4, 5)" in text and str(axis) in text


def test_class_weights_need_one_per_class():
    text = message(lambda: build([4, 5], [4], class_weights=[1, 2, 3]))
    assert "layer 'loss'" in text and "class_weights" in text
    assert "5 classes" in text and "3 weights" in text


def test_class_weights_must_not_be_negative():
    text = message(lambda: SoftmaxLoss(name="loss", bottoms=["x", "y"], class_weights=[1, -2]))
    assert "layer 'loss'" in text and "class_weights" in text and ">= 0" in text and "-2" in text


def test_bad_normalization_suggests_the_nearest():
    text = message(lambda: layer_from_yaml(
        "{name: loss, type: SoftmaxLoss, bottoms: [x, y], normalization: vaild}"))
    assert "layer 'loss'" in text and "normalization" in text
    assert "valid, batch_size, full, none" in text and "did you mean 'valid'" in text


def test_ignore_label_must_be_an_integer():
    text = message(lambda: SoftmaxLoss(name="loss", bottoms=["x", "y"], ignore_label=0.5))
    assert "layer 'loss'" in text and "ignore_label" in text and "integer" in text


def test_needs_two_bottoms():
    text = message(lambda: SoftmaxLoss(name="loss", bottoms=["x"]))
    assert "layer 'loss'" in text and "bottoms" in text and "exactly 2" in text


@pytest.mark.parametrize("bad", [5.0, -1.0])
def test_labels_must_be_class_indices(bad, backend):
    layer = SoftmaxLoss(name="loss", bottoms=["x", "y"], ignore_label=255)
    labels = np.array([0.0, bad, 255.0, 4.0])
    text = message(lambda: run_layer(layer, [np.zeros((4, 5)), labels], backend=backend))
    assert "layer 'loss'" in text and "bottoms" in text and "'y'" in text
    assert "0 to 4" in text and f"got {bad:g}" in text


@pytest.mark.filterwarnings("error")  # a nan label prints no RuntimeWarning before the one line
@pytest.mark.parametrize("bad", [3.5, 0.25, -0.5, np.nan, np.inf, 1e30])
def test_labels_that_are_not_whole_numbers_are_refused(bad, backend):
    layer = SoftmaxLoss(name="loss", bottoms=["x", "y"])
    labels = np.array([0.0, bad, 2.0, 4.0])
    with pytest.raises(GraphnetError) as err:
        run_layer(layer, [np.zeros((4, 5)), labels], backend=backend)
    assert str(err.value) == (f"layer 'loss': bottoms: labels must be class indices 0 to 4, "
                              f"got {bad:g} in 'y'")


def test_a_label_near_the_ignored_one_is_not_ignored(backend):
    layer = SoftmaxLoss(name="loss", bottoms=["x", "y"], ignore_label=255)
    labels = np.array([0.0, 255.0, 255.5, 4.0])
    text = message(lambda: run_layer(layer, [np.zeros((4, 5)), labels], backend=backend))
    assert text.endswith("labels must be class indices 0 to 4, got 255.5 in 'y'"), text
