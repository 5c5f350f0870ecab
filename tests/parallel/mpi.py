"""Running graphnet under a real `mpiexec -n 2`, as a user does; skipped without the mpi extra."""

import importlib.util
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

MPIEXEC = next((p for p in (os.path.join(os.path.dirname(sys.executable), "mpiexec"),
                            shutil.which("mpiexec")) if p and os.path.exists(p)), None)
needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                               reason="needs the mpi extra: pip install graphnet[mpi]")

# Open MPI refuses root unless told twice (CI runs as root); one BLAS thread per process.
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def start(*args, procs=2, launcher=False):
    """`mpiexec -n PROCS graphnet ARGS` (or `graphnet ARGS --procs PROCS` with launcher) as a
    process with piped stdout and stderr."""
    command = ([sys.executable, "-m", "graphnet", *args, "--procs", str(procs)] if launcher
               else [MPIEXEC, "-n", str(procs), sys.executable, "-m", "graphnet", *args])
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def run(*args, procs=2, timeout=120):
    """Run to the end: (returncode, stdout, stderr); procs=1 runs graphnet alone."""
    command = ([sys.executable, "-m", "graphnet", *args] if procs == 1
               else [MPIEXEC, "-n", str(procs), sys.executable, "-m", "graphnet", *args])
    done = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def params(snapshot):
    """{key: array} of a snapshot's parameters."""
    with h5py.File(snapshot, "r") as f:
        return {f"{layer}/{name}": f[f"params/{layer}/{name}"][()]
                for layer in f["params"] for name in f[f"params/{layer}"]}


def statistic(run_dir, key):
    """(iterations, values) of a statistic in a run directory."""
    with h5py.File(os.path.join(run_dir, "statistics.h5"), "r") as f:
        return f[f"{key}/iteration"][()], f[f"{key}/value"][()]


def assert_close(a, b, rtol=1e-10):
    """Relative to the largest magnitude, array by array."""
    for key in a:
        scale = max(np.abs(a[key]).max(), 1e-300)
        assert np.abs(a[key] - b[key]).max() <= rtol * scale, key
