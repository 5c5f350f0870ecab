"""The compiled LSTM and Embed paths (graphnet/kernels/recurrent.py) give the plain NumPy
paths' numbers to the bit: the same float operations in the same order on each element,
with exp and tanh left to NumPy in both.

Each test builds the same net twice, GRAPHNET_KERNELS=0 and 1, feeds both the same
batches and compares every output, gradient and carried state byte for byte.
"""

import numpy as np
import pytest

from graphnet import Net
from graphnet.layers import LSTM, Embed, InnerProduct, Input, SoftmaxLoss
from graphnet.solver import Solver

pytest.importorskip("numba")

T, N, D, H = 7, 5, 6, 8


def both(monkeypatch, make_net):
    """The net built without and with the kernels (the layers look them up in setup)."""
    nets = []
    for switch in ("0", "1"):
        monkeypatch.setenv("GRAPHNET_KERNELS", switch)
        nets.append(make_net())
        assert (nets[-1].backend.kernels is None) == (switch == "0")
    return nets


def same_bits(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def lstm_net(dtype, hidden=H):
    def make():
        feed = Input(name="feed", tops=["x", "cont"], shapes=[[T, N, D], [T, N]])
        lstm = LSTM(name="r", bottoms=["x", "cont"], tops=["h"], output_dim=hidden,
                    bias_filler={"type": "gaussian", "std": 0.5})
        return Net("seq", [feed, lstm], dtype=dtype, seed=4, force_backward=True)
    return make


def cont_with_resets(k):
    cont = np.ones((T, N))
    cont[3, 0] = 0                 # a sequence restarts mid-batch
    cont[0, 1] = 0                 # ... at a batch's first step
    cont[T - 1, 2] = 0             # ... at its last step
    if k == 0:
        cont[0] = 0
    return cont


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("scale", [1.0, 60.0], ids=["ordinary", "saturated"])  # 60: gates clipped at +-80
@pytest.mark.parametrize("hidden, rows_per_part", [(H, 32), (5, 2)], ids=["one part", "parts of 2 rows"])
def test_lstm_forward_backward_and_carried_state_are_the_numpy_path(monkeypatch, dtype, scale, hidden,
                                                                    rows_per_part):
    # parts of 2 sequences (2, 2, 1) on the backend's threads, and rows of 4H = 20 that
    # NumPy's SIMD exp and tanh end with a partial vector
    monkeypatch.setattr(LSTM, "rows_per_part", rows_per_part)
    nets = both(monkeypatch, lstm_net(dtype, hidden))
    rng = np.random.default_rng(0)
    for k in range(3):                                 # the state carries over between batches
        x = rng.standard_normal((T, N, D)) * scale
        top_diff = rng.standard_normal((T, N, hidden))
        runs = []
        for net in nets:
            net.blobs["x"].data[...] = x
            net.blobs["cont"].data[...] = cont_with_resets(k)
            net.forward()
            net.clear_param_diffs()
            net.backward(top_diffs={"h": top_diff})
            layer = net.layer("r")
            runs.append([net.blobs["h"].data, net.blobs["x"].diff, layer.hidden, layer.cell]
                        + [p.diff for p in net.params["r"]])
        for plain, compiled in zip(*runs):
            assert same_bits(compiled, plain)


def test_nan_goes_through_both_paths_alike(monkeypatch):
    nets = both(monkeypatch, lstm_net("float32"))
    x = np.random.default_rng(1).standard_normal((T, N, D))
    x[2, 1, 0] = np.nan
    tops = []
    for net in nets:
        net.blobs["x"].data[...] = x
        net.blobs["cont"].data[...] = 1
        net.forward()
        tops.append(net.blobs["h"].data.copy())
    assert np.isnan(tops[0][2:, 1]).all() and not np.isnan(tops[0][:2]).any()
    assert same_bits(tops[1], tops[0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embed_gradient_is_np_add_at_to_the_bit(monkeypatch, dtype):
    def make():
        feed = Input(name="feed", tops=["i"], shapes=[[40, 3]])
        return Net("e", [feed, Embed(name="e", bottoms=["i"], tops=["v"], input_dim=5, output_dim=4)],
                   dtype=dtype, seed=2, force_backward=True)
    rng = np.random.default_rng(3)
    index = rng.integers(0, 5, size=(40, 3))          # each row repeated ~24 times: long sums
    dv = rng.standard_normal((40, 3, 4))
    grads = []
    for net in both(monkeypatch, make):
        net.blobs["i"].data[...] = index
        net.forward()
        net.clear_param_diffs()
        net.backward(top_diffs={"v": dv})
        grads.append(net.params["e"][0].diff.copy())
    assert same_bits(grads[1], grads[0])


def char_model():
    """netdefs/shakespeare.yaml's train net, small: Embed -> LSTM -> LSTM -> InnerProduct -> loss."""
    shape = [T, N]
    layers = [
        Input(name="text", tops=["chars", "next", "cont"], shapes=[shape, shape, shape]),
        Embed(name="embed", bottoms=["chars"], tops=["embedded"], input_dim=11, output_dim=D),
        LSTM(name="lstm1", bottoms=["embedded", "cont"], tops=["h1"], output_dim=H),
        LSTM(name="lstm2", bottoms=["h1", "cont"], tops=["h2"], output_dim=H),
        InnerProduct(name="scores", bottoms=["h2"], tops=["scores"], output_dim=11, axis=2),
        SoftmaxLoss(name="loss", bottoms=["scores", "next"], axis=2),
    ]
    return Net("chars", layers, dtype="float32", seed=1)


def test_training_the_character_model_is_the_numpy_path(monkeypatch, tmp_path):
    rng = np.random.default_rng(5)
    text = rng.integers(0, 11, size=(T + 1, N))
    runs = []
    for k, net in enumerate(both(monkeypatch, char_model)):
        net.blobs["chars"].data[...] = text[:-1]
        net.blobs["next"].data[...] = text[1:]
        net.blobs["cont"].data[...] = cont_with_resets(1)
        solver = Solver("adam", lr_policy=0.01, clip_gradients=5, max_iter=0, run_dir=str(tmp_path / str(k)))
        solver.solve(net)
        losses = []
        for _ in range(6):
            solver.step()
            losses.append(solver.loss)
        runs.append((losses, [p.data for params in net.params.values() for p in params]))
    (losses0, params0), (losses1, params1) = runs
    assert losses1 == losses0
    assert all(same_bits(b, a) for a, b in zip(params0, params1))
