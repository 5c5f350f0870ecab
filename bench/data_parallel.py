"""Data-parallel LeNet on this machine: 1 process x 2 BLAS threads against 2 processes x 1 thread
(`graphnet solve --procs 2`), the same global batch of 64; and the time of one Allreduce of
LeNet's 431,080 float32 gradients between 2 processes.

    python bench/data_parallel.py                       # --iterations 200 --rounds 3
    python bench/data_parallel.py --iterations 100 --rounds 1

Needs data/mnist (graphnet data mnist) and the mpi extra. Each training run is a fresh
`graphnet solve netdefs/mnist.yaml` (float32) into a temporary run directory; the images
per second are 64 x iterations / the training-loop seconds that solve prints. The two
set-ups alternate within each round; medians are printed with the load average, since
other work on the machine changes everything here.
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PARAMS = 431_080


def _env(threads):
    return {**os.environ, "OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
            "MKL_NUM_THREADS": str(threads), "OMPI_ALLOW_RUN_AS_ROOT": "1",
            "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}


def _netdef(folder, batch):
    """netdefs/mnist.yaml with the train batch `batch` (the test net's stays 100)."""
    text = open(os.path.join(ROOT, "netdefs/mnist.yaml")).read()
    text = text.replace("batch_size: 64", f"batch_size: {batch}").replace(
        "source: data/mnist/", f"source: {ROOT}/data/mnist/")
    path = os.path.join(folder, f"mnist-{batch}.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


def train(procs, threads, iterations):
    """Images per second of the training loop."""
    with tempfile.TemporaryDirectory() as folder:
        netdef = _netdef(folder, 64 // procs)
        command = [sys.executable, "-m", "graphnet", "solve", netdef, "--dtype", "float32",
                   "--set", f"solver.max_iter={iterations}", "--set", f"solver.run_dir={folder}/run"]
        if procs > 1:
            command += ["--procs", str(procs)]
        done = subprocess.run(command, capture_output=True, text=True, env=_env(threads))
        found = re.search(r"(\d+) iterations in ([\d.]+) s", done.stdout)
        if done.returncode or not found:
            sys.exit(f"{' '.join(command)} failed:\n{done.stdout}{done.stderr}")
        return 64 * int(found.group(1)) / float(found.group(2))


def allreduce_worker(repeats):
    import numpy as np
    from mpi4py import MPI
    comm = MPI.COMM_WORLD
    grad = np.ones(PARAMS, np.float32)
    times = []
    for i in range(repeats + 10):
        comm.Barrier()
        start = time.perf_counter()
        comm.Allreduce(MPI.IN_PLACE, grad)
        if i >= 10:  # the first calls set up buffers
            times.append(time.perf_counter() - start)
    if comm.rank == 0:
        print(f"{1e6 * statistics.median(times):.0f} {1e6 * min(times):.0f} {1e6 * max(times):.0f}")


def allreduce(repeats):
    """(median, min, max) microseconds of one Allreduce of PARAMS float32 between 2 processes."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    done = subprocess.run([mpiexec, "-n", "2", sys.executable, __file__, "--allreduce-worker",
                           str(repeats)], capture_output=True, text=True, env=_env(1), check=True)
    return [float(v) for v in done.stdout.split()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--allreduce-worker", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.allreduce_worker:
        return allreduce_worker(args.allreduce_worker)
    print(f"load average before: {os.getloadavg()[0]:.2f} (on {os.cpu_count()} cores)", flush=True)
    speeds = {"1 process x 2 threads": [], "2 processes x 1 thread": []}
    for round_ in range(args.rounds):
        for (label, runs), (procs, threads) in zip(speeds.items(), ((1, 2), (2, 1))):
            runs.append(train(procs, threads, args.iterations))
            print(f"round {round_ + 1}: {label}: {runs[-1]:.0f} img/s "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)
    for label, runs in speeds.items():
        print(f"{label}: median {statistics.median(runs):.0f} img/s "
              f"(min {min(runs):.0f}, max {max(runs):.0f})")
    median, low, high = allreduce(200)
    print(f"Allreduce of {PARAMS:,} float32 ({PARAMS * 4 / 1e6:.2f} MB), 2 processes: median "
          f"{median:.0f} us (min {low:.0f}, max {high:.0f})")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
