"""`mpiexec -n 2` with batch B trains as one process with batch 2B (float64, to 1e-10): the
parameters, the loss of every iteration and the validation statistics; and a run resumed
under `mpiexec -n 2` is bit-identical to one never stopped."""

import os

import h5py
import numpy as np
import pytest

import graphnet

from .mpi import assert_close, needs_mpi, params, run, statistic

pytestmark = needs_mpi

MLP = """\
name: mlp
seed: 3
dtype: float64
layers:
  - {{name: data, type: MemoryData, tops: [x, y], batch_size: {batch}, shuffle: true,
     source: {{type: linear, n: 200, dim: 20, noise: 0.1, seed: 2}}}}
  - {{name: hid, type: InnerProduct, bottoms: [x], tops: [h], output_dim: 32, neuron: tanh}}
{dropout}  - {{name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1}}
  - {{name: loss, type: SquareLoss, bottoms: [p, y]}}
solver:
  method: {method}
  lr_policy: 0.01
  momentum: 0.9
  weight_decay: 1.0e-4
  clip_gradients: 5
  max_iter: {max_iter}
  run_dir: {run_dir}
coffee_breaks:
  - {{type: TrainingSummary, every_n_iter: 10}}
  - {{type: Snapshot, every_n_iter: 20}}
"""

DROPOUT = "  - {name: drop, type: Dropout, bottoms: [h], tops: [h], ratio: 0.3}\n"

CONV = """\
name: conv
seed: 5
dtype: float64
layers:
  - {{name: data, type: HDF5Data, tops: [data, label], source: {train}, batch_size: {batch},
     shuffle: true, block_rows: 7, phase: train}}
  - {{name: data, type: HDF5Data, tops: [data, label], source: {test}, batch_size: {batch},
     phase: test}}
  - {{name: conv1, type: Convolution, bottoms: [data], tops: [conv1], n_filter: 4, kernel: 3}}
  - {{name: pool1, type: Pooling, bottoms: [conv1], tops: [pool1], pool: max, kernel: 2, stride: 2}}
  - {{name: ip1, type: InnerProduct, bottoms: [pool1], tops: [ip1], output_dim: 16, neuron: relu}}
  - {{name: ip2, type: InnerProduct, bottoms: [ip1], tops: [ip2], output_dim: 3}}
  - {{name: loss, type: SoftmaxLoss, bottoms: [ip2, label]{ignore}}}
{accuracy}solver:
  method: adam
  lr_policy: 0.01
  max_iter: 30
  run_dir: {run_dir}
coffee_breaks:
  - {{type: ValidationPerformance, every_n_iter: 15}}
  - {{type: Snapshot, every_n_iter: 30}}
"""


def _write(tmp_path, name, template, **fields):
    path = tmp_path / name
    path.write_text(template.format(**fields))
    return str(path)


ACCURACY = "  - {name: accuracy, type: Accuracy, bottoms: [ip2, label], phase: test}\n"


def _images(path, n, seed, ignored=0.0):
    """Images of 3 classes; a fraction `ignored` of the labels are 7, the label to ignore."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.normal(size=(n, 1, 8, 8)) + labels[:, None, None, None] * 0.5
    labels[rng.random(n) < ignored] = 7
    with h5py.File(path, "w") as f:
        f["data"], f["label"] = images, labels.astype(float)
    return str(path)


def test_mlp_two_processes_equal_one_with_twice_the_batch(tmp_path):
    one = _write(tmp_path, "one.yaml", MLP, batch=32, method="nesterov", max_iter=40,
                 run_dir=tmp_path / "one", dropout="")
    two = _write(tmp_path, "two.yaml", MLP, batch=16, method="nesterov", max_iter=40,
                 run_dir=tmp_path / "two", dropout="")
    code, out, err = run("solve", one, procs=1)
    assert code == 0, err
    code, out, err = run("solve", two)
    assert code == 0, err
    assert out.count("iter      40/40") == 1 and err == "", (out, err)   # rank 0 alone speaks
    assert sorted(os.listdir(tmp_path / "two")) == sorted(os.listdir(tmp_path / "one"))
    assert_close(params(tmp_path / "one/snapshot-00000040.h5"), params(tmp_path / "two/snapshot-00000040.h5"))
    (i1, loss1), (i2, loss2) = statistic(tmp_path / "one", "train/loss"), statistic(tmp_path / "two", "train/loss")
    assert list(i1) == list(i2) == list(range(1, 41))
    assert np.abs(loss1 - loss2).max() <= 1e-10 * np.abs(loss1).max()


def test_conv_net_and_validation_two_processes_equal_one(tmp_path):
    train, test = _images(tmp_path / "train.h5", 100, 1), _images(tmp_path / "test.h5", 48, 2)
    for name, batch in (("one", 12), ("two", 6)):
        netdef = _write(tmp_path, f"{name}.yaml", CONV, batch=batch, train=train, test=test,
                        run_dir=tmp_path / name, ignore="", accuracy=ACCURACY)
        code, out, err = run("solve", netdef, procs=1 if name == "one" else 2)
        assert code == 0, err
        assert out.count("validation at iter 30") == 1, out
    assert_close(params(tmp_path / "one/snapshot-00000030.h5"), params(tmp_path / "two/snapshot-00000030.h5"))
    for key in ("train/loss", "val/loss", "val/accuracy"):
        (_, a), (_, b) = statistic(tmp_path / "one", key), statistic(tmp_path / "two", key)
        assert len(a) == len(b) and np.abs(a - b).max() <= 1e-10 * max(np.abs(a).max(), 1), key


def test_ignored_labels_are_counted_over_all_processes(tmp_path):
    """normalization valid with ignore_label: each process divides by the count of all."""
    train = _images(tmp_path / "train.h5", 100, 3, ignored=0.4)
    test = _images(tmp_path / "test.h5", 48, 4, ignored=0.4)
    for name, batch in (("one", 12), ("two", 6)):
        netdef = _write(tmp_path, f"{name}.yaml", CONV, batch=batch, train=train, test=test,
                        run_dir=tmp_path / name, ignore=", ignore_label: 7", accuracy="")
        code, out, err = run("solve", netdef, procs=1 if name == "one" else 2)
        assert code == 0, err
    assert_close(params(tmp_path / "one/snapshot-00000030.h5"), params(tmp_path / "two/snapshot-00000030.h5"))
    for key in ("train/loss", "val/loss"):
        (_, a), (_, b) = statistic(tmp_path / "one", key), statistic(tmp_path / "two", key)
        assert np.abs(a - b).max() <= 1e-10 * np.abs(a).max(), key


def test_resume_under_two_processes_is_bit_identical(tmp_path):
    """With dropout: each process draws its masks from a stream of its own, and resumes it."""
    whole = _write(tmp_path, "whole.yaml", MLP, batch=16, method="adam", max_iter=40,
                   run_dir=tmp_path / "whole", dropout=DROPOUT)
    half = _write(tmp_path, "half.yaml", MLP, batch=16, method="adam", max_iter=20,
                  run_dir=tmp_path / "parts", dropout=DROPOUT)
    assert run("solve", whole)[0] == 0
    assert run("solve", half)[0] == 0
    code, out, err = run("solve", half, "--resume", "--set", "solver.max_iter=40")
    assert code == 0, err
    assert out.count("resumed from") == 1, out
    a, b = params(tmp_path / "whole/snapshot-00000040.h5"), params(tmp_path / "parts/snapshot-00000040.h5")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    with h5py.File(tmp_path / "parts/snapshot-00000040.h5", "r") as f:
        assert "processes" in f["solver"].attrs
    assert np.array_equal(statistic(tmp_path / "whole", "train/loss")[1],
                          statistic(tmp_path / "parts", "train/loss")[1])


def test_resuming_under_another_process_count_is_one_line(tmp_path):
    """Its global batches would change: refused (a machine of 2 cores tries one process)."""
    netdef = _write(tmp_path, "two.yaml", MLP, batch=16, method="sgd", max_iter=20,
                    run_dir=tmp_path / "run", dropout="")
    assert run("solve", netdef)[0] == 0
    snapshot = tmp_path / "run" / "snapshot-00000020.h5"
    code, out, err = run("solve", netdef, "--resume", "--set", "solver.max_iter=40", procs=1)
    assert code == 2
    assert err == (f"{snapshot}: was written by a run of 2 process(es) and this one has 1: its "
                   "global batches of 2 x batch_size rows would change; resume it with 2 (mpiexec "
                   "-n 2, or --procs 2), or start a new run from its parameters with --weights\n")


@pytest.mark.gpu
def test_mlp_on_gpus_two_processes_equal_one(tmp_path):
    """--backend cupy: NCCL when each process has a GPU of its own, else through host memory."""
    if not graphnet.cupy_available():
        pytest.skip("CuPy and an NVIDIA GPU are needed for the cupy backend")
    for name, batch, procs in (("one", 32, 1), ("two", 16, 2)):
        netdef = _write(tmp_path, f"{name}.yaml", MLP, batch=batch, method="sgd", max_iter=20,
                        run_dir=tmp_path / name, dropout="")
        code, out, err = run("solve", netdef, "--backend", "cupy", procs=procs)
        assert code == 0, err
    assert_close(params(tmp_path / "one/snapshot-00000020.h5"), params(tmp_path / "two/snapshot-00000020.h5"))
