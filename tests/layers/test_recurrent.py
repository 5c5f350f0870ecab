"""LSTM and RNN against plain NumPy float64 references, through resets and carried state."""

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import LSTM, RNN, Input
from graphnet.testing import check_gradients
from tests.helpers import layer_from_yaml

T, N, D, H = 6, 3, 4, 5


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def lstm_reference(x, cont, weight, recurrent, bias, h, c):
    """Caffe's LSTM step by step, gates [i, f, o, g]; returns (h for every step, last h, last c)."""
    out = []
    for t in range(len(x)):
        h, c = cont[t][:, None] * h, cont[t][:, None] * c
        z = x[t].reshape(len(h), -1) @ weight.T + h @ recurrent.T + bias
        i, f, o, g = sigmoid(z[:, :H]), sigmoid(z[:, H:2 * H]), sigmoid(z[:, 2 * H:3 * H]), np.tanh(z[:, 3 * H:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return np.stack(out), h, c


def rnn_reference(x, cont, weight, recurrent, bias, h):
    out = []
    for t in range(len(x)):
        h = np.tanh(x[t].reshape(len(h), -1) @ weight.T + (cont[t][:, None] * h) @ recurrent.T + bias)
        out.append(h)
    return np.stack(out), h


def recurrent_net(layer, backend, x_shape=(T, N, D)):
    feed = Input(name="feed", tops=["x", "cont"], shapes=[list(x_shape), list(x_shape[:2])])
    return Net("seq", [feed, layer], backend=backend, dtype="float64", force_backward=True)


def make(cls, **fields):
    return cls(name="r", bottoms=["x", "cont"], tops=["h"], output_dim=H,
               bias_filler={"type": "gaussian", "std": 0.5}, **fields)


def batches(rng, count, x_shape=(T, N, D)):
    """Sequences with resets at the start, in the middle of a batch and at a batch's first step."""
    out = []
    for k in range(count):
        cont = np.ones(x_shape[:2])
        cont[2, 0] = 0
        cont[4, 1] = 0
        cont[0, 2] = 0                # stream 2 restarts at the first step of every batch
        if k == 0:
            cont[0] = 0
        out.append((rng.normal(size=x_shape), cont))
    return out


def feed(net, x, cont):
    net.blobs["x"].data[...] = net.backend.asarray(x)
    net.blobs["cont"].data[...] = net.backend.asarray(cont)
    net.forward()
    return net.backend.to_host(net.blobs["h"].data).copy()


def host(net, *names):
    layer = net.layer("r")
    return [net.backend.to_host(layer.params[n].data) for n in names]


@pytest.mark.parametrize("x_shape", [(T, N, D), (T, N, 2, 2)], ids=["features", "flattened"])
def test_lstm_matches_the_reference_across_batches(backend, rng, x_shape, kernels):
    net = recurrent_net(make(LSTM), backend, x_shape)
    weight, recurrent, bias = host(net, "weight", "recurrent", "bias")
    h = c = np.zeros((N, H))
    for x, cont in batches(rng, 3, x_shape):   # the state carries over between batches
        expected, h, c = lstm_reference(x, cont, weight, recurrent, bias, h, c)
        np.testing.assert_allclose(feed(net, x, cont), expected, rtol=1e-10, atol=1e-12)
        layer = net.layer("r")
        np.testing.assert_allclose(net.backend.to_host(layer.hidden), h, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(net.backend.to_host(layer.cell), c, rtol=1e-10, atol=1e-12)


def test_rnn_matches_the_reference_across_batches(backend, rng):
    net = recurrent_net(make(RNN), backend)
    weight, recurrent, bias = host(net, "weight", "recurrent", "bias")
    h = np.zeros((N, H))
    for x, cont in batches(rng, 3):
        expected, h = rnn_reference(x, cont, weight, recurrent, bias, h)
        np.testing.assert_allclose(feed(net, x, cont), expected, rtol=1e-10, atol=1e-12)


def reference_gradients(reference, net, x, cont, dh, carried, eps=1e-6):
    """d(sum(dh * h))/d(param) for each param, by central differences on the reference."""
    params = host(net, "weight", "recurrent", "bias")
    grads = []
    for k, p in enumerate(params):
        g = np.zeros_like(p)
        for index in np.ndindex(p.shape):
            values = []
            for sign in (1, -1):
                q = [a.copy() for a in params]
                q[k][index] += sign * eps
                values.append((dh * reference(x, cont, *q, *carried)[0]).sum())
            g[index] = (values[0] - values[1]) / (2 * eps)
        grads.append(g)
    return grads


@pytest.mark.parametrize("cls, reference, state", [(LSTM, lstm_reference, 2), (RNN, rnn_reference, 1)],
                         ids=["lstm", "rnn"])
def test_backward_matches_the_reference_gradients(backend, rng, cls, reference, state, kernels):
    net = recurrent_net(make(cls), backend)
    first, (x, cont) = batches(rng, 2)
    feed(net, *first)
    layer = net.layer("r")
    carried = [net.backend.to_host(getattr(layer, name)).copy() for name in layer.state_attrs]
    assert len(carried) == state and np.abs(carried[0]).max() > 0.05
    feed(net, x, cont)
    dh = rng.normal(size=(T, N, H))
    net.clear_param_diffs()
    net.backward(top_diffs={"h": dh})
    expected = reference_gradients(reference, net, x, cont, dh, carried)
    for name, want in zip(("weight", "recurrent", "bias"), expected):
        got = net.backend.to_host(layer.params[name].diff)
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("cls", [LSTM, RNN])
def test_gradient_check_over_steps_with_resets_and_carried_state(backend, rng, cls, kernels):
    net = recurrent_net(make(cls), backend)
    first, (x, cont) = batches(rng, 2)
    feed(net, *first)                       # leaves a carried state for the checked batch
    net.blobs["x"].data[...] = net.backend.asarray(x)
    net.blobs["cont"].data[...] = net.backend.asarray(cont)
    report = check_gradients(net)
    assert report.max_error < 1e-6, report
    assert set(report.errors) == {"param 'r/weight'", "param 'r/recurrent'", "param 'r/bias'",
                                  "bottom 'x'"}


def test_the_forget_gate_bias_starts_at_forget_bias(backend):
    net = recurrent_net(LSTM(name="r", bottoms=["x", "cont"], tops=["h"], output_dim=H), backend)
    (bias,) = host(net, "bias")
    np.testing.assert_array_equal(bias, np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)])
    net = recurrent_net(make(LSTM, forget_bias=None), backend)
    assert host(net, "bias")[0][H:2 * H].std() > 0.1  # the bias filler's draws, unchanged


def test_a_reset_forgets_the_past(rng, kernels):
    """Where cont is 0 the output does not depend on anything before that step."""
    net = recurrent_net(make(LSTM), "numpy")
    x, cont = batches(rng, 1)[0]
    before = feed(net, x, cont)
    x2 = x.copy()
    x2[:2, 0] = rng.normal(size=(2, D))     # stream 0 restarts at step 2
    net.layer("r").hidden[...] = 0
    net.layer("r").cell[...] = 0
    after = feed(net, x2, cont)
    np.testing.assert_array_equal(after[2:, 0], before[2:, 0])
    assert not np.allclose(after[:2, 0], before[:2, 0])


def test_yaml_and_python_specs_are_equal():
    assert layer_from_yaml("{name: r, type: LSTM, bottoms: [x, cont], tops: [h], output_dim: 8, "
                           "forget_bias: 0.5, recurrent_filler: {type: gaussian, std: 0.1}}") == \
        LSTM(name="r", bottoms=["x", "cont"], tops=["h"], output_dim=8, forget_bias=0.5,
             recurrent_filler={"type": "gaussian", "std": 0.1})


@pytest.mark.parametrize("cls", [LSTM, RNN])
@pytest.mark.parametrize("shapes, message", [
    ([[6, 4], [6]], r"layer 'r': bottoms: 'x' is \(6, 4\), but a sequence is time-major "
                    r"\(T, N, features...\)"),
    ([[6, 3, 4], [6, 2]], r"layer 'r': bottoms: 'cont' is \(6, 2\), but it marks the steps of "
                          r"'x' \(6, 3, 4\) and must be \(6, 3\)"),
])
def test_shape_mistakes_name_the_layer_and_blob(cls, shapes, message):
    feed = Input(name="feed", tops=["x", "cont"], shapes=shapes)
    with pytest.raises(GraphnetError, match=message):
        Net("seq", [feed, make(cls)])


def test_needs_both_bottoms():
    with pytest.raises(GraphnetError, match="layer 'r': bottoms: LSTM takes exactly 2, got 1"):
        LSTM(name="r", bottoms=["x"], tops=["h"], output_dim=3)
