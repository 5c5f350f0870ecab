"""Each update rule against Caffe's formulas (caffe.md 2.4), written element by element here."""

import math
import tracemalloc

import numpy as np
import pytest

import graphnet
from graphnet.coffee import Snapshot
from graphnet.errors import GraphnetError
from graphnet.netdef import parse_yaml
from graphnet.solver.methods import (METHODS, SGD, AdaDelta, AdaGrad, Adam, Method, Nesterov, RMSProp,
                                     method)
from graphnet.solver.solver import Solver

from ..helpers import linear_net

N, STEPS = 7, 5
MOMENTA = [0.5, 0.9, 0.0, 0.7, 0.9]       # a different momentum each step, as a policy may give
SPECS = ["sgd", "nesterov", "adagrad", "rmsprop", "adadelta", "adam",
         {"type": "rmsprop", "rho": 0.9, "delta": 1e-4},
         {"type": "adadelta", "rho": 0.5, "delta": 1e-3},
         {"type": "adam", "beta1": 0.5, "beta2": 0.8, "delta": 1e-3}]


def reference(spec, w, grads, lr, first_t=0):
    """`len(grads)` steps of `spec` on w, one element at a time in plain Python floats."""
    w = [float(x) for x in w]
    lrs = lr if isinstance(lr, np.ndarray) else np.full(len(w), lr)
    a = [0.0] * len(w)   # V, H, Eg or m
    b = [0.0] * len(w)   # Edx or v
    for step, g_all in enumerate(grads):
        t = first_t + step
        mu = MOMENTA[t]
        for i, g in enumerate(float(x) for x in g_all):
            lr_i = float(lrs[i])
            if spec.type == "sgd":                       # V = mu V + lr g; W -= V
                a[i] = mu * a[i] + lr_i * g
                w[i] -= a[i]
            elif spec.type == "nesterov":                # W -= (1+mu) V - mu V_old
                old = a[i]
                a[i] = mu * a[i] + lr_i * g
                w[i] -= (1 + mu) * a[i] - mu * old
            elif spec.type == "adagrad":                 # H += g^2; W -= lr g / (sqrt(H) + delta)
                a[i] += g * g
                w[i] -= lr_i * g / (math.sqrt(a[i]) + spec.delta)
            elif spec.type == "rmsprop":                 # H = rho H + (1-rho) g^2
                a[i] = spec.rho * a[i] + (1 - spec.rho) * g * g
                w[i] -= lr_i * g / (math.sqrt(a[i]) + spec.delta)
            elif spec.type == "adadelta":
                a[i] = spec.rho * a[i] + (1 - spec.rho) * g * g
                u = g * math.sqrt((b[i] + spec.delta) / (a[i] + spec.delta))
                b[i] = spec.rho * b[i] + (1 - spec.rho) * u * u
                w[i] -= lr_i * u
            elif spec.type == "adam":
                a[i] = spec.beta1 * a[i] + (1 - spec.beta1) * g
                b[i] = spec.beta2 * b[i] + (1 - spec.beta2) * g * g
                correction = math.sqrt(1 - spec.beta2 ** (t + 1)) / (1 - spec.beta1 ** (t + 1))
                w[i] -= lr_i * correction * a[i] / (math.sqrt(b[i]) + spec.delta)
    return np.array(w)


def problem(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=N).astype(dtype)
    grads = [rng.normal(size=N).astype(dtype) for _ in range(STEPS)]
    lr = rng.uniform(0.05, 0.5, size=N).astype(dtype)
    lr[2] = 0.0                                           # a frozen parameter
    return w, grads, lr


def run(spec, backend, w, grads, lr, state=None, first_t=0):
    """Steps of `spec` through `update` on the backend; returns host (w, state)."""
    be = graphnet.get_backend(backend)
    xp = be.xp
    data = xp.asarray(w.copy())
    state = {n: xp.asarray(state[n]) if state else xp.zeros_like(data) for n in spec.state_names}
    lr = xp.asarray(lr) if isinstance(lr, np.ndarray) else lr
    for step, g in enumerate(grads):
        spec.update(xp, data, xp.asarray(g.copy()), lr, MOMENTA[first_t + step], state,
                    first_t + step)
    return be.to_host(data), {n: be.to_host(a) for n, a in state.items()}


@pytest.mark.parametrize("spec", SPECS, ids=str)
@pytest.mark.parametrize("per_element", [False, True], ids=["lr", "lr_array"])
def test_method_matches_caffes_formulas(spec, per_element, backend):
    spec = method(spec)
    w, grads, lr = problem()
    lr = lr if per_element else 0.1
    got, state = run(spec, backend, w, grads, lr)
    np.testing.assert_allclose(got, reference(spec, w, grads, lr), rtol=1e-12, atol=1e-14)
    assert set(state) == set(spec.state_names)
    if per_element:
        assert got[2] == w[2]                            # lr 0: the element does not move


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_float32_stays_float32(spec, backend):
    spec = method(spec)
    w, grads, lr = problem(np.float32)
    for rate in (0.1, lr):
        got, state = run(spec, backend, w, grads, rate)
        assert got.dtype == np.float32 and all(a.dtype == np.float32 for a in state.values())
        expected = reference(spec, w.astype(np.float64), [g.astype(np.float64) for g in grads], rate)
        np.testing.assert_allclose(got, expected, rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_continuing_from_a_copied_state_is_identical(spec, backend):
    w, grads, lr = problem()
    straight, straight_state = run(method(spec), backend, w, grads, lr)
    half, state = run(method(spec), backend, w, grads[:2], lr)
    # a fresh method object, the state through host copies: as a resumed run has them
    resumed, resumed_state = run(method(spec), backend, half, grads[2:], lr,
                                 state={n: a.copy() for n, a in state.items()}, first_t=2)
    np.testing.assert_array_equal(resumed, straight)
    for name in straight_state:
        np.testing.assert_array_equal(resumed_state[name], straight_state[name])


@pytest.mark.parametrize("spec", ["adagrad", "rmsprop", "adadelta", "adam"])
def test_adaptive_methods_ignore_momentum(spec):
    w, grads, lr = problem()
    data, other = w.copy(), w.copy()
    a, b = method(spec), method(spec)
    state_a = {n: np.zeros(N) for n in a.state_names}
    state_b = {n: np.zeros(N) for n in b.state_names}
    for t, g in enumerate(grads):
        a.update(np, data, g.copy(), lr, 0.0, state_a, t)
        b.update(np, other, g.copy(), lr, 0.9, state_b, t)
    np.testing.assert_array_equal(data, other)
    assert not a.uses_momentum and SGD.uses_momentum and Nesterov.uses_momentum


def test_adam_uses_t_plus_one_in_its_correction():
    spec = Adam()
    w, grads, lr = problem()
    got, _ = run(spec, "numpy", w, grads[:1], 0.1, first_t=0)
    # after one step from zero state m/sqrt(v) = g/|g|, corrected by sqrt(1-b2)/(1-b1)
    np.testing.assert_allclose(got, w - 0.1 * np.sign(grads[0]), rtol=0, atol=1e-6)
    later, _ = run(spec, "numpy", w, grads[:1], 0.1, first_t=4)
    factor = math.sqrt(1 - 0.999 ** 5) / (1 - 0.9 ** 5) * 0.1 / math.sqrt(0.001)
    np.testing.assert_allclose(later, w - 0.1 * factor * np.sign(grads[0]), rtol=0, atol=1e-6)


def test_adam_in_the_solver_corrects_by_the_updates_done_also_after_a_resume(tmp_path):
    """The solver's t-th update (t = 0, 1, ...) is corrected with t + 1, t counted on from the
    snapshot's iteration on resume; the bias at lr_mult 2 without decay, the weight decayed."""
    x = np.array([[1.0, 2.0], [3.0, -1.0]])

    def build():
        return linear_net(x, bias_filler=0.5)

    def solve(max_iter, resume=None):
        net = build()
        solver = Solver({"type": "adam", "beta1": 0.5, "beta2": 0.8}, lr_policy=0.1, weight_decay=0.3,
                        max_iter=max_iter, run_dir=str(tmp_path / "run"))
        solver.add_coffee_break(Snapshot(), every_n_iter=3)
        solver.solve(net, resume=resume)
        return [p.data for p in net.params["fit"]]

    w, b = (p.data.copy() for p in build().params["fit"])
    mw, vw, mb, vb = 0 * w, 0 * w, 0 * b, 0 * b
    expected = {}
    for t in range(6):   # loss = sum(x w^T + b): dL/dw = the sum of the samples (+ 0.3 w), dL/db = N
        gw, gb = x.sum(axis=0) + 0.3 * w, np.full_like(b, len(x))
        mw, vw = 0.5 * mw + 0.5 * gw, 0.8 * vw + 0.2 * gw * gw
        mb, vb = 0.5 * mb + 0.5 * gb, 0.8 * vb + 0.2 * gb * gb
        correction = math.sqrt(1 - 0.8 ** (t + 1)) / (1 - 0.5 ** (t + 1))
        w = w - 0.1 * correction * mw / (np.sqrt(vw) + 1e-8)
        b = b - 0.2 * correction * mb / (np.sqrt(vb) + 1e-8)
        expected[t + 1] = w, b
    for got, want in zip(solve(3), expected[3]):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for got, want in zip(solve(6, resume=True), expected[6]):
        np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_a_step_allocates_no_array_of_the_parameters_size(spec):
    spec = method(spec)
    n = 250_000                                           # 1 MB in float32
    data, grad = np.ones(n, np.float32), np.full(n, 0.5, np.float32)
    state = {name: np.zeros(n, np.float32) for name in spec.state_names}
    for lr in (0.1, np.full(n, 0.1, np.float32)):
        spec.update(np, data, grad.copy(), lr, 0.9, state, 0)        # the scratch array, once
        g = grad.copy()
        tracemalloc.start()
        spec.update(np, data, g, lr, 0.9, state, 1)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < 100_000, f"{spec}: a step allocated {peak} bytes"


# --- configuration --------------------------------------------------------------------------

def test_defaults_are_caffes():
    assert AdaGrad().delta == 1e-8
    assert (RMSProp().rho, RMSProp().delta) == (0.99, 1e-8)
    assert (AdaDelta().rho, AdaDelta().delta) == (0.95, 1e-6)
    assert (Adam().beta1, Adam().beta2, Adam().delta) == (0.9, 0.999, 1e-8)
    assert {name: cls.state_names for name, cls in METHODS.items()} == {
        "sgd": ("history",), "nesterov": ("history",), "adagrad": ("history",),
        "rmsprop": ("history",), "adadelta": ("history", "update_history"), "adam": ("m", "v")}


def test_yaml_and_python_give_equal_methods():
    assert method(parse_yaml("{type: adam, beta1: 0.8}", "<t>")) == Adam(beta1=0.8)
    assert method("RMSProp") == RMSProp() and method("AdaDelta") == AdaDelta()
    assert method(parse_yaml("sgd", "<t>")) == SGD()
    adam = Adam(delta=1e-6)
    assert method(adam) is adam and isinstance(adam, Method)
    assert repr(adam) == "adam(delta=1e-06)"


@pytest.mark.parametrize("value, words", [
    ("adma", ["unknown method 'adma'", "did you mean 'adam'", "known: adadelta, adagrad, adam"]),
    ({"type": "sgd", "momentum": 0.9}, ["momentum: unknown field for method 'sgd'"]),
    ({"type": "adam", "beta2": 1.0}, ["beta2", "must be < 1, got 1.0"]),
    ({"type": "adam", "beta1": -0.1}, ["beta1", "must be >= 0, got -0.1"]),
    ({"type": "rmsprop", "rho": 1}, ["rho", "must be < 1"]),
    ({"type": "adadelta", "delta": 0}, ["delta", "must be > 0, got 0"]),
    ({"type": "adagrad", "delta": "small"}, ["delta", "must be a number, got 'small'"]),
    (0.1, ["must be a method name or a mapping with a type, got 0.1"]),
    ({"rho": 0.9}, ["mapping with a type"]),
])
def test_bad_methods_say_which_field(value, words):
    with pytest.raises(ValueError) as e:
        method(value)
    for word in words:
        assert word in str(e.value)


def test_a_solver_names_its_method_field():
    with pytest.raises(GraphnetError) as e:
        Solver({"type": "adam", "beta2": 1.5})
    assert str(e.value) == "solver: method: beta2: must be < 1, got 1.5"
    with pytest.raises(GraphnetError, match="solver: method: unknown method 'nesterow'"):
        Solver("nesterow")
