"""The training loop: exact resume, snapshots that survive kills, signals, examples that learn."""

import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.cli import main
from graphnet.coffee import Snapshot, ValidationPerformance
from graphnet.datasets.synthetic import Linear
from graphnet.io.snapshot import Snapshot as SnapshotFile, newest_snapshot
from graphnet.layers import (BinaryAccuracy, BinaryCrossEntropyLoss, Dropout, InnerProduct,
                              MemoryData, SquareLoss)
from graphnet.solver import Solver

from ..helpers import linear_net


def parity_layers(hidden=6, shuffle=True):
    return [
        MemoryData(name="data", tops=["x", "y"], batch_size=24, shuffle=shuffle, phase="train",
                   source={"type": "parity", "n": 100, "seed": 1}),
        MemoryData(name="data", tops=["x", "y"], batch_size=50, phase="test",
                   source={"type": "parity", "n": 100, "seed": 2}),
        InnerProduct(name="hid", bottoms=["x"], tops=["h"], output_dim=hidden, neuron="tanh"),
        InnerProduct(name="out", bottoms=["h"], tops=["p"], output_dim=1, neuron="sigmoid"),
        BinaryCrossEntropyLoss(name="loss", bottoms=["p", "y"]),
        BinaryAccuracy(name="accuracy", bottoms=["p", "y"]),
    ]


def dropout_layers():
    return parity_layers() + [Dropout(name="drop", bottoms=["h"], tops=["h"], ratio=0.4)]


def train(run_dir, method, max_iter, resume=None, layers=parity_layers, **solver_fields):
    net = Net("parity", layers(), seed=3)
    test = Net("parity", layers(), phase="test", share_with=net, seed=3)
    solver = Solver(method, max_iter=max_iter, run_dir=str(run_dir), **solver_fields)
    solver.add_coffee_break(Snapshot(), every_n_iter=7)
    solver.add_coffee_break(ValidationPerformance(), every_n_iter=5)
    solver.solve(net, test, resume=resume)
    return net, solver


@pytest.mark.parametrize("method, fields", [
    ("sgd", dict(lr_policy={"type": "step", "base_lr": 0.5, "gamma": 0.5, "stepsize": 10},
                 momentum=0.9, weight_decay=1e-3)),
    ("adam", dict(lr_policy=0.05, weight_decay=1e-4, regularization="l1", clip_gradients=1.0)),
    ("nesterov", dict(lr_policy=0.2, momentum={"type": "linear", "base": 0.5, "gamma": 0.1,
                                               "stepsize": 5, "max": 0.9}, iter_size=2)),
])
def test_resume_is_bit_identical_to_an_uninterrupted_run(tmp_path, method, fields):
    straight, _ = train(tmp_path / "straight", method, 28, **fields)
    train(tmp_path / "split", method, 14, **fields)
    os.remove(tmp_path / "split" / "snapshot-00000014.h5")  # resume from 7: mid-epoch, mid-schedule
    resumed, solver = train(tmp_path / "split", method, 28, resume=True, **fields)
    assert solver.iteration == 28
    assert np.array_equal(straight.param_data, resumed.param_data)
    assert np.array_equal(straight.layer("data").order, resumed.layer("data").order)
    with h5py.File(tmp_path / "split" / "statistics.h5") as f:
        assert list(f["train/loss/iteration"][()]) == list(range(1, 29))
        assert list(f["val/accuracy/iteration"][()]) == [5, 10, 15, 20, 25]


def test_resume_goes_on_with_the_generator_dropout_draws_from(tmp_path):
    """Dropout's masks come from the backend's generator: a resumed run draws on from its saved
    state, not from the seed, and so ends where an uninterrupted run ends."""
    fields = dict(lr_policy=0.5, momentum=0.9, layers=dropout_layers)
    straight, _ = train(tmp_path / "straight", "sgd", 21, **fields)
    assert straight.backend.rng_state() != Net("parity", dropout_layers(), seed=3).backend.rng_state()
    train(tmp_path / "split", "sgd", 7, **fields)
    resumed, solver = train(tmp_path / "split", "sgd", 21, resume=True, **fields)
    assert solver.iteration == 21
    assert resumed.backend.rng_state() == straight.backend.rng_state()
    assert np.array_equal(straight.param_data, resumed.param_data)


def test_snapshot_layout_opens_with_plain_h5py(tmp_path):
    net, _ = train(tmp_path, "adam", 7, lr_policy=0.01)
    with h5py.File(tmp_path / "snapshot-00000007.h5") as f:
        assert f.attrs["format"] == "graphnet-snapshot" and f.attrs["iteration"] == 7
        np.testing.assert_array_equal(f["params/hid/weight"][()], net.params["hid"][0].data)
        assert set(f["solver"]) == {"m", "v"} and f["solver"].attrs["method"] == '"adam"'
        assert set(f["layers/train/data"].attrs) >= {"epoch", "cursor", "rng"}
        assert "order" in f["layers/train/data"] and "layers/test/data" in f


def test_loading_checks_shapes_and_method(tmp_path):
    train(tmp_path, "sgd", 7)
    path = str(tmp_path / "snapshot-00000007.h5")
    bigger = Net("parity", parity_layers(hidden=7))
    with pytest.raises(GraphnetError, match=r"hid/weight' has shape \(6, 3\), but layer 'hid' needs \(7, 3\)"):
        with SnapshotFile(path) as snap:
            snap.load_params(bigger)
    with pytest.raises(GraphnetError, match="was written by method sgd, but the solver now uses adam"):
        train(tmp_path, "adam", 8, resume=path)
    (tmp_path / "junk.h5").write_bytes(b"not hdf5 at all")
    with pytest.raises(GraphnetError, match="junk.h5: is damaged or not an HDF5 file"):
        SnapshotFile(tmp_path / "junk.h5")


def test_weights_fine_tune_from_a_snapshot(tmp_path):
    trained, _ = train(tmp_path / "a", "sgd", 7, lr_policy=0.3)
    net = Net("parity", parity_layers(), seed=9)
    solver = Solver("sgd", lr_policy=0.0, max_iter=1, run_dir=str(tmp_path / "b"))
    solver.solve(net, weights=str(tmp_path / "a" / "snapshot-00000007.h5"))
    assert solver.iteration == 1
    np.testing.assert_array_equal(net.param_data, trained.param_data)


@pytest.mark.filterwarnings("ignore:overflow encountered")
def test_non_finite_loss_names_the_first_bad_layer(tmp_path):
    layers = [MemoryData(name="data", tops=["x", "y"], batch_size=10,
                         source={"type": "linear", "n": 10, "dim": 3}),
              InnerProduct(name="fit", bottoms=["x"], tops=["p"], output_dim=1),
              SquareLoss(name="loss", bottoms=["p", "y"])]
    net = Net("diverges", layers)
    solver = Solver("sgd", lr_policy=1e3, max_iter=100, run_dir=str(tmp_path))
    solver.add_coffee_break(Snapshot(), every_n_iter=1)
    with pytest.raises(GraphnetError) as err:
        solver.solve(net)
    message = str(err.value)
    assert message.startswith("net 'diverges': loss is inf at iteration")
    assert "the first non-finite output is top 'loss' of layer 'loss'" in message
    assert "the newest snapshot with finite parameters is" in message
    with SnapshotFile(newest_snapshot(str(tmp_path))) as snap:
        assert snap.iteration == solver.iteration


def test_iter_size_accumulates_like_a_bigger_batch(tmp_path):
    def run(batch, iter_size):
        layers = [MemoryData(name="data", tops=["x", "y"], batch_size=batch,
                             source={"type": "linear", "n": 64, "dim": 3, "seed": 1}),
                  InnerProduct(name="fit", bottoms=["x"], tops=["p"], output_dim=1),
                  SquareLoss(name="loss", bottoms=["p", "y"])]
        net = Net("lin", layers, dtype="float64")
        Solver("sgd", lr_policy=0.1, momentum=0.5, max_iter=5, iter_size=iter_size,
               run_dir=str(tmp_path / f"{batch}x{iter_size}")).solve(net)
        return net.param_data
    np.testing.assert_allclose(run(16, 2), run(32, 1), rtol=1e-12)


def test_max_norm_constraint_and_frozen_layers(tmp_path):
    layers = parity_layers()
    layers[2] = layers[2].replace(param={"weight": {"max_norm": 0.5}})
    layers[3] = layers[3].replace(frozen=True)
    net = Net("parity", layers, seed=3)
    frozen = net.params["out"][0].data.copy()
    Solver("sgd", lr_policy=1.0, max_iter=10, run_dir=str(tmp_path)).solve(net)
    norms = np.linalg.norm(net.params["hid"][0].data, axis=1)
    assert norms.max() <= 0.5 + 1e-6 and norms.max() > 0.499
    np.testing.assert_array_equal(net.params["out"][0].data, frozen)


def test_early_stopping_and_keep_best(tmp_path):
    net = Net("parity", parity_layers(), seed=3)
    test = Net("parity", parity_layers(), phase="test", share_with=net, seed=3)
    solver = Solver("sgd", lr_policy=0.0, max_iter=100, run_dir=str(tmp_path))
    solver.add_coffee_break(ValidationPerformance(key="loss", keep_best=True, patience=3), every_n_iter=2)
    solver.solve(net, test)
    assert solver.iteration == 8 and "early stop" in solver.stopped
    with SnapshotFile(tmp_path / "best.h5") as snap:
        assert snap.iteration == 2


def test_decay_on_validation_lowers_the_rate_and_goes_back_to_the_best(tmp_path, capsys):
    net = Net("parity", parity_layers(), seed=3)
    test = Net("parity", parity_layers(), phase="test", share_with=net, seed=3)
    solver = Solver("sgd", lr_policy={"type": "decay_on_validation", "base_lr": 10.0, "key": "loss",
                                      "higher_better": False, "gamma": 0.5},
                    momentum=0.9, max_iter=30, run_dir=str(tmp_path))
    solver.add_coffee_break(ValidationPerformance(), every_n_iter=3)
    solver.solve(net, test)
    out = capsys.readouterr().out
    assert "validation loss got worse: back to the parameters of the best validation" in out
    assert solver.lr_policy.rate(30) < 10.0
    losses = [float(line.split("loss ")[1].split(",")[0]) for line in out.splitlines()
              if line.startswith("validation at")]
    # After going back, the parameters are the best ones: validating again gives the best loss.
    assert test.forward_epoch()["loss"] == pytest.approx(min(losses), rel=1e-6)


def test_resume_reports_a_changed_netdef(tmp_path, capsys):
    args = ["solve", "netdefs/xor.yaml", "--set", f"solver.run_dir={tmp_path}", "--set", "solver.max_iter=1000"]
    assert main(args) == 0
    assert main(args + ["--resume", "--set", "solver.max_iter=1200", "--set",
                        "layers.hid.weight_filler=gaussian"]) == 0
    out = capsys.readouterr().out
    assert "resuming with a changed netdef: layer 'hid': weight_filler: xavier() -> gaussian()" in out
    assert "solver 'solver': max_iter: 1000 -> 1200" in out
    assert "resumed from" in out and "200 iterations" in out and "now at iteration 1200" in out


def test_xor_reaches_full_accuracy(tmp_path, capsys):
    assert main(["solve", "netdefs/xor.yaml", "--set", f"solver.run_dir={tmp_path}"]) == 0
    with h5py.File(tmp_path / "statistics.h5") as f:
        assert f["val/accuracy/value"][-1] == 1.0
    assert main(["test", "netdefs/xor.yaml", "--weights", newest_snapshot(str(tmp_path))]) == 0
    assert "accuracy 1\n" in capsys.readouterr().out


def test_regression_recovers_the_true_weights(tmp_path):
    assert main(["solve", "netdefs/regression.yaml", "--set", f"solver.run_dir={tmp_path}"]) == 0
    w, b = Linear(n=100, dim=10, seed=1).truth()
    with SnapshotFile(newest_snapshot(str(tmp_path))) as snap:
        np.testing.assert_allclose(snap.params["fit/weight"], w, atol=1e-4)
        np.testing.assert_allclose(snap.params["fit/bias"], b, atol=1e-4)


def test_product_hidden_layer_beats_linear_tenfold(tmp_path):
    assert main(["solve", "netdefs/product.yaml", "--set", f"solver.run_dir={tmp_path}"]) == 0
    with h5py.File(tmp_path / "statistics.h5") as f:
        linear, hidden = f["val/linear_loss/value"][-1], f["val/hidden_loss/value"][-1]
    assert hidden * 10 <= linear, (hidden, linear)


def _solve_process(run_dir, max_iter, resume=False):
    return subprocess.Popen(
        [sys.executable, "-m", "graphnet", "solve", "netdefs/xor.yaml",
         "--set", f"solver.run_dir={run_dir}", "--set", f"solver.max_iter={max_iter}",
         "--set", "coffee_breaks=[{type: Snapshot, every_n_iter: 1}]"] + ["--resume"] * resume,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_while_writing_snapshots_the_newest_always_loads(tmp_path):
    rng = np.random.default_rng(0)
    reached = 0
    for kill in range(12):
        process = _solve_process(tmp_path, 10**6, resume=kill > 0)
        time.sleep(1.0 + rng.uniform(0, 0.6))
        process.kill()
        out, err = process.communicate()
        assert "Traceback" not in err, err
        newest = newest_snapshot(str(tmp_path))
        assert newest is not None
        with SnapshotFile(newest) as snap:
            assert snap.iteration >= reached and "hid/weight" in snap.params
            reached = snap.iteration


def test_sigint_writes_a_snapshot_and_exits_cleanly(tmp_path):
    process = _solve_process(tmp_path, 10**6)
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "SIGINT at iteration" in out and "Traceback" not in err
    with SnapshotFile(newest_snapshot(str(tmp_path))) as snap:
        assert f"SIGINT at iteration {snap.iteration}:" in out


def test_a_training_step_makes_no_batch_sized_array(tmp_path):
    import tracemalloc
    net = Net.from_yaml("netdefs/xor.yaml", phase="train")
    solver = Solver("sgd", lr_policy=2.0, momentum=0.9, max_iter=0, run_dir=str(tmp_path)).solve(net)
    for _ in range(3):
        solver.step()
    tracemalloc.start()
    solver.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * 1024, f"a step allocated {peak} bytes; a batch of 1024 float32 is 4096"


def test_each_step_takes_the_rate_and_decay_the_policies_give_then(tmp_path):
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    net = linear_net(x, bias=False)
    w = net.param_data.copy()
    Solver("sgd", lr_policy={"type": "step", "base_lr": 0.5, "gamma": 0.5, "stepsize": 1},
           weight_decay=0.1, max_iter=3, run_dir=str(tmp_path)).solve(net)
    for t in range(3):   # dL/dw = sum of the samples, plus the decay 0.1 w
        w = w - 0.5 * 0.5 ** t * (x.sum(axis=0) + 0.1 * w)
    np.testing.assert_allclose(net.param_data, w, rtol=1e-12)


@pytest.mark.parametrize("regularization", ["l2", "l1"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_weight_decay_is_scaled_by_each_parameters_decay_mult(tmp_path, regularization, bias):
    """decay_mult 3 on the weight triples its decay; the bias (decay_mult 0, lr_mult 2) is never
    decayed. Without the bias every multiplier is 3: one number for all the parameters."""
    x = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    net = linear_net(x, output_dim=2, bias=bias, bias_filler=0.5,
                     param={"weight": {"decay_mult": 3.0}})
    w = net.params["fit"][0].data.copy()
    b = np.full(2, 0.5)
    Solver("sgd", lr_policy=0.1, weight_decay=0.2, regularization=regularization, max_iter=3,
           run_dir=str(tmp_path / "run")).solve(net)
    decay = (lambda a: a) if regularization == "l2" else np.sign
    for _ in range(3):   # loss = sum(x W^T + b): each row of dL/dW is the sum of the samples, dL/db = N
        w = w - 0.1 * (x.sum(axis=0) + 0.2 * 3.0 * decay(w))
        b = b - 2 * 0.1 * len(x)
    np.testing.assert_allclose(net.params["fit"][0].data, w, rtol=1e-12)
    if bias:
        np.testing.assert_allclose(net.params["fit"][1].data, b, rtol=1e-12)
