"""The solver's update in pieces (graphnet/solver/update.py), and SGD's compiled step
(graphnet/kernels/update.py), give the whole-array NumPy step's numbers to the bit, for
every method, both regularizations, uniform and mixed multipliers."""

import numpy as np
import pytest

from graphnet.backend import Backend
from graphnet.solver import update as update_module
from graphnet.solver.methods import METHODS, Method
from graphnet.solver.update import Update

SIZE = 50
# Multipliers per element as the solver makes them: a float32 array where they differ
# (a weight at lr_mult 1, decay_mult 1; a bias at 1.7 and 0; one at 0.3 and 2.5; a frozen
# part at 0), else a number. 1.7, 0.3 and 2.5: rates whose float32 product differs from
# the float64 one's rounding, which the pieces must not change.
LR_MULT = np.concatenate([np.full(20, 1.0), np.full(5, 1.7), np.full(15, 0.3), np.full(10, 0.0)])
DECAY_MULT = np.concatenate([np.full(20, 1.0), np.full(5, 0.0), np.full(15, 2.5), np.full(10, 1.0)])


def whole_step(backend, method, w, g, state, lr_mult, decay, regularization, lr, momentum, t):
    """The step on whole arrays, as the solver took it before the pieces."""
    xp = backend.xp
    if decay is not None:
        tmp = xp.sign(w) * decay if regularization == "l1" else xp.multiply(w, decay)
        g += tmp.astype(w.dtype)
    method.update(xp, w, g, backend.asarray(lr * lr_mult), backend.asarray(momentum), state, t)


def arrays(backend, seed):
    rng = np.random.default_rng(seed)
    w = backend.asarray(rng.standard_normal(SIZE))
    w[3] = 0.0   # sign(0) for L1
    return w, backend.asarray(rng.standard_normal(SIZE))


@pytest.mark.parametrize("name", sorted({kind.type for kind in METHODS.values()}))
@pytest.mark.parametrize("regularization", ["l2", "l1", None])
@pytest.mark.parametrize("mixed", [True, False])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy"])
def test_pieces_give_the_whole_arrays_step(monkeypatch, name, regularization, mixed, compiled):
    monkeypatch.setattr(update_module, "PIECE", 7)   # many pieces, runs cut inside
    monkeypatch.setattr(update_module, "PART", 16)   # the compiled step in 4 parts
    backend = Backend("numpy", "float32")
    lr_mult = backend.asarray(LR_MULT) if mixed else 1.0
    decay = None
    if regularization:
        decay = 5e-4 * (backend.asarray(DECAY_MULT) if mixed else 1.0)
    ours, theirs = METHODS.convert(name), METHODS.convert(name)
    state_names = ours.state_names
    w1, _ = arrays(backend, 0)
    w2 = w1.copy()
    state1 = {n: backend.zeros(SIZE) for n in state_names}
    state2 = {n: backend.zeros(SIZE) for n in state_names}
    update = Update(backend, ours, state1, w1, backend.zeros(SIZE), lr_mult, decay,
                    regularization or "l2")
    assert len(update.pieces) > 4
    # graphnet[fast]: SGD's decay and step run as one compiled loop, checked here too
    assert (update.kernel is not None) == (name == "sgd" and regularization != "l1"
                                           and backend.kernels is not None)
    if update.kernel is not None:
        assert len(update._parts) == 4
    if not compiled:
        update.kernel = None   # NumPy's passes, piece by piece
    for t, lr in enumerate([0.03, 0.03, 0.0123, 0.3]):   # see LR_MULT
        _, g = arrays(backend, t + 1)
        update.grad[...] = g
        update(lr, 0.9, t)
        g2 = g.copy()
        whole_step(backend, theirs, w2, g2, state2, lr_mult, decay, regularization or "l2",
                   lr, 0.9, t)
    assert w1.tobytes() == w2.tobytes()
    for n in state_names:
        assert state1[n].tobytes() == state2[n].tobytes()


def test_a_method_that_reads_across_elements_gets_the_whole_arrays():
    seen = []

    class Normalized(Method):
        state_names = ()

        def update(self, xp, data, grad, lr, momentum, state, t):
            seen.append((len(data), np.shape(lr)))
            data -= lr * grad / xp.sqrt(xp.dot(grad, grad))

    backend = Backend("numpy", "float32")
    w, g = arrays(backend, 0)
    update = Update(backend, Normalized(), {}, w, g, backend.asarray(LR_MULT), None, "l2")
    assert update.pieces == []
    update(0.1, 0.0, 0)
    assert seen == [(SIZE, (SIZE,))]


def test_pieces_keep_to_one_multiplier_each():
    backend = Backend("numpy", "float32")
    w, g = arrays(backend, 0)
    update = Update(backend, METHODS.convert("sgd"), {"history": backend.zeros(SIZE)}, w, g,
                    backend.asarray(LR_MULT), 5e-4 * backend.asarray(DECAY_MULT), "l2")
    bounds = [(p.start, p.stop, float(lr), float(d)) for p, lr, d in update.pieces]
    f32 = np.float32
    assert bounds == [(0, 20, 1.0, f32(5e-4)), (20, 25, f32(1.7), 0.0),
                      (25, 40, f32(0.3), f32(5e-4) * f32(2.5)), (40, 50, 0.0, f32(5e-4))]


def test_on_a_device_the_update_takes_the_whole_arrays():
    # CuPy: each operation on a piece would be a kernel launch of its own
    backend = Backend("numpy", "float32")
    backend.launches = True
    w, g = arrays(backend, 0)
    history = backend.zeros(SIZE)
    update = Update(backend, METHODS.convert("sgd"), {"history": history}, w, g,
                    backend.asarray(LR_MULT), 5e-4 * backend.asarray(DECAY_MULT), "l2")
    assert update.pieces == []
    w2, g2, history2 = w.copy(), g.copy(), backend.zeros(SIZE)
    update(0.03, 0.9, 0)
    whole_step(backend, METHODS.convert("sgd"), w2, g2, {"history": history2}, backend.asarray(LR_MULT),
               5e-4 * backend.asarray(DECAY_MULT), "l2", 0.03, 0.9, 0)
    assert w.tobytes() == w2.tobytes() and history.tobytes() == history2.tobytes()
