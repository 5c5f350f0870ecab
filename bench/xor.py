"""The XOR / 3-bit parity MLP of netdefs/xor.yaml: one full training step in microseconds.

    python bench/xor.py                       # 2 threads, 7 rounds of 1000 steps per contender
    python bench/xor.py --threads 2 --rounds 7 --steps 1000

Batch 1024, 3-4-1 sigmoid, no biases, binary cross-entropy, SGD lr 2.0 momentum 0.9
(the netdef's recipe), float32. Contenders, all from the same initial weights and data:
  graphnet   Net.from_yaml("netdefs/xor.yaml", phase="train") + Solver(...).step()
  numpy      the same maths written by hand (forward, backward, momentum update)
  torch      nn.Linear x2 + sigmoid, nn.BCELoss, loss.backward(), optim.SGD(momentum=0.9)
The contenders alternate round by round; the medians (min, max) of the rounds are
printed, with the ratios graphnet / numpy and graphnet / torch (of µs per step: above 1
means graphnet is slower). After timing, the losses of the three after the same number
of steps are printed as a check that they computed the same thing.

Without torch installed, the torch contender is left out and the script says so.
"""

import argparse
import os

from threads import pin_blas_threads, torch_with_threads  # bench/threads.py


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--steps", type=int, default=1000, help="steps per round per contender")
    p.add_argument("--netdef", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                    "..", "netdefs", "xor.yaml"))
    return p.parse_args(argv)


ARGS = parse_args()
pin_blas_threads(ARGS.threads)   # before NumPy is imported

import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import graphnet  # noqa: E402
from medians import print_medians  # noqa: E402
from graphnet.solver import Solver  # noqa: E402

torch = torch_with_threads(ARGS.threads)

LR, MOMENTUM = 2.0, 0.9


class Graphnet:
    name = "graphnet"

    def __init__(self):
        self.net = graphnet.Net.from_yaml(ARGS.netdef, phase="train", backend="numpy", dtype="float32")
        self.solver = Solver("sgd", lr_policy=LR, momentum=MOMENTUM, max_iter=0,
                             run_dir=tempfile.mkdtemp(prefix="bench-xor-"))
        self.solver.solve(self.net)     # max_iter=0: sets up state, runs no iteration
        self.net.forward()              # the batch (1024 samples of 1024: the same batch every step)
        self.x = np.array(self.net.blobs["x"].data)
        self.y = np.array(self.net.blobs["y"].data)
        self.w1 = np.array(self.net.params["hid"][0].data)    # (4, 3)
        self.w2 = np.array(self.net.params["out"][0].data)    # (1, 4)

    def run(self, n):
        for _ in range(n):
            self.solver.step()

    @property
    def loss(self):
        return float(self.net.forward())


class Numpy:
    """The same step by hand: sigmoid MLP, BCE (mean over the batch), V = mV + lr g; w -= V."""
    name = "numpy"

    def __init__(self, x, y, w1, w2):
        self.x, self.y = x.astype(np.float32), y.astype(np.float32)
        self.w1, self.w2 = w1.astype(np.float32).copy(), w2.astype(np.float32).copy()
        self.v1, self.v2 = np.zeros_like(self.w1), np.zeros_like(self.w2)
        self.n = np.float32(len(x))
        self.lr, self.mom = np.float32(LR), np.float32(MOMENTUM)

    def forward(self):
        h = 1 / (1 + np.exp(-(self.x @ self.w1.T)))
        p = 1 / (1 + np.exp(-(h @ self.w2.T)))
        return h, p

    def run(self, n):
        x, y, w1, w2, v1, v2 = self.x, self.y, self.w1, self.w2, self.v1, self.v2
        for _ in range(n):
            h = 1 / (1 + np.exp(-(x @ w1.T)))
            p = 1 / (1 + np.exp(-(h @ w2.T)))
            dz2 = (p - y) / self.n                 # d BCE / d pre-sigmoid, mean over the batch
            g2 = dz2.T @ h
            dz1 = (dz2 @ w2) * h * (1 - h)
            g1 = dz1.T @ x
            v1 *= self.mom
            v1 += self.lr * g1
            w1 -= v1
            v2 *= self.mom
            v2 += self.lr * g2
            w2 -= v2

    @property
    def loss(self):
        _, p = self.forward()
        p = np.clip(p, 1e-12, 1 - 1e-7)
        return float(-(self.y * np.log(p) + (1 - self.y) * np.log(1 - p)).mean())


class Torch:
    name = "torch"

    def __init__(self, x, y, w1, w2):
        self.x, self.y = torch.from_numpy(x.copy()), torch.from_numpy(y.copy())
        self.model = torch.nn.Sequential(torch.nn.Linear(3, 4, bias=False), torch.nn.Sigmoid(),
                                         torch.nn.Linear(4, 1, bias=False), torch.nn.Sigmoid())
        with torch.no_grad():
            self.model[0].weight.copy_(torch.from_numpy(w1))
            self.model[2].weight.copy_(torch.from_numpy(w2))
        self.loss_fn = torch.nn.BCELoss()
        # torch's momentum: V = mV + g; w -= lr V, the same as graphnet's at a fixed lr
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def run(self, n):
        model, x, y, opt, loss_fn = self.model, self.x, self.y, self.opt, self.loss_fn
        for _ in range(n):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()

    @property
    def loss(self):
        with torch.no_grad():
            return float(self.loss_fn(self.model(self.x), self.y))


def main():
    g = Graphnet()
    entries = [g, Numpy(g.x, g.y, g.w1, g.w2)]
    if torch is not None:
        entries.append(Torch(g.x, g.y, g.w1, g.w2))
    print(f"XOR MLP (netdefs/xor.yaml): batch {len(g.x)}, 3-4-1 sigmoid, no biases, BCE, SGD lr {LR} "
          f"momentum {MOMENTUM}, float32, {ARGS.threads} threads; numpy {np.__version__}, "
          + (f"torch {torch.__version__}" if torch is not None else "torch is not installed: no torch contender"))
    print("  check: initial loss " + ", ".join(f"{e.name} {e.loss:.6f}" for e in entries))
    for e in entries:
        e.run(max(10, ARGS.steps // 10))                 # warm-up
    times = {e.name: [] for e in entries}
    for _ in range(ARGS.rounds):
        for e in entries:
            start = time.perf_counter()
            e.run(ARGS.steps)
            times[e.name].append(1e6 * (time.perf_counter() - start) / ARGS.steps)
    print(f"one training step, µs: {ARGS.rounds} alternating rounds of {ARGS.steps} steps")
    print_medians(times, ".1f", "  (time per step; >1: graphnet slower)")
    steps = max(10, ARGS.steps // 10) + ARGS.rounds * ARGS.steps
    print(f"  check: loss after {steps} steps " + ", ".join(f"{e.name} {e.loss:.6f}" for e in entries))


if __name__ == "__main__":
    main()
