"""Helpers for tests that run `graphnet solve` as a user does: real files, real processes."""

import os
import subprocess
import sys
import time

WIDE = """\
name: wide
seed: 4
layers:
  - {{name: data, type: MemoryData, tops: [x, y], batch_size: 32, shuffle: true,
     source: {{type: linear, n: 256, dim: 100, noise: 0.1, seed: 2}}}}
  - {{name: hid, type: InnerProduct, bottoms: [x], tops: [h], output_dim: {hidden}, neuron: tanh}}
  - {{name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1}}
  - {{name: loss, type: SquareLoss, bottoms: [p, y]}}
solver:
  method: sgd
  lr_policy: {lr}
  momentum: 0.9
  max_iter: {max_iter}
  run_dir: {run_dir}
coffee_breaks:
  - {{type: TrainingSummary, every_n_iter: 10}}
  - {{type: Snapshot, every_n_iter: {every}}}
"""


def wide_netdef(folder, *, run_dir=None, max_iter=40, every=10, hidden=300, lr=0.01, name="wide.yaml"):
    """A regression netdef whose snapshots are large enough (about 250 KB) to damage in places;
    returns its path. The run directory defaults to <folder>/run."""
    path = os.path.join(folder, name)
    with open(path, "w") as f:
        f.write(WIDE.format(run_dir=run_dir or os.path.join(folder, "run"), max_iter=max_iter,
                            every=every, hidden=hidden, lr=lr))
    return path


def graphnet(*args, env=None, **popen):
    """`python -m graphnet ARGS` as a separate process, one BLAS thread (bit-identical runs)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "PYTHONWARNINGS": "default", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "graphnet", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **popen)


def run(*args, timeout=120, **kwargs):
    """Run graphnet to the end: (returncode, stdout, stderr)."""
    process = graphnet(*args, **kwargs)
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def wait_for(predicate, timeout=60, what="the condition"):
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
