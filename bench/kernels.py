"""The compiled kernels (graphnet[fast]) against the plain NumPy paths, inside whole steps.

    python bench/kernels.py                    # 60 alternating blocks of 20 steps each
    python bench/kernels.py --blocks 20 --steps 50

Two solvers of netdefs/mnist.yaml's train net in one process, one built with
GRAPHNET_KERNELS=0 and one with the kernels, from the same seed and data, take
`solver.step()` in alternating blocks (AB, BA, AB, ...), so the host's drift hits both
alike. Prints the median ms per step of each, the median and quartiles of the per-block
ratios (kernels / plain; below 1 the kernels are faster) and both losses at the end,
which agree when the two paths compute the same thing. Needs `graphnet data mnist`.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from threads import pin_blas_threads  # bench/threads.py


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--blocks", type=int, default=60)
    p.add_argument("--steps", type=int, default=20, help="steps per block")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


ARGS = parse_args()
pin_blas_threads(ARGS.threads)   # before NumPy is imported
sys.path.insert(0, ROOT)
os.chdir(ROOT)

from graphnet.net import Net  # noqa: E402
from graphnet.netdef import load_netdef  # noqa: E402
from graphnet.solver import Solver  # noqa: E402


def solver(kernels, run_dir):
    os.environ["GRAPHNET_KERNELS"] = "1" if kernels else "0"
    netdef = load_netdef("netdefs/mnist.yaml", ["solver.max_iter=0", f"solver.run_dir={run_dir}"])
    s = Solver.from_netdef(netdef)
    s.breaks = []
    net = Net(netdef.name, netdef.layers, phase="train", dtype="float32", seed=1)
    if kernels and net.backend.kernels is None:
        sys.exit("graphnet.kernels did not load: pip install graphnet[fast] (numba)")
    s.solve(net)          # max_iter 0: sets up the solver's state, takes no step
    return s


def run(s, steps):
    start = time.perf_counter()
    for _ in range(steps):
        s.step()
        s.iteration += 1
    return (time.perf_counter() - start) / steps * 1000


def main():
    with tempfile.TemporaryDirectory(prefix="bench-kernels-") as tmp:
        contenders = {"plain": solver(False, os.path.join(tmp, "plain")),
                      "kernels": solver(True, os.path.join(tmp, "kernels"))}
        for s in contenders.values():
            run(s, 30)                                  # warm-up, compiles the kernels
        ms = {name: [] for name in contenders}
        for block in range(ARGS.blocks):
            for name in (("plain", "kernels") if block % 2 == 0 else ("kernels", "plain")):
                ms[name].append(run(contenders[name], ARGS.steps))
    ratios = [k / p for p, k in zip(ms["plain"], ms["kernels"])]
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    print(f"LeNet (netdefs/mnist.yaml) solver steps, float32, {ARGS.threads} threads, "
          f"{ARGS.blocks} alternating blocks of {ARGS.steps}")
    for name, values in ms.items():
        print(f"  {name:<8} median {statistics.median(values):6.2f} ms per step "
              f"[{min(values):.2f}-{max(values):.2f}]")
    print(f"  kernels / plain: median {statistics.median(ratios):.3f}, quartiles {q1:.3f}-{q3:.3f}")
    print("  loss after the last step: " + ", ".join(f"{n} {s.loss:.7g}" for n, s in contenders.items()))


if __name__ == "__main__":
    main()
