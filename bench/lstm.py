"""The character model of netdefs/shakespeare.yaml: graphnet against PyTorch's nn.LSTM, training.

    python bench/lstm.py                       # 2 threads, 7 rounds of 20 steps per contender
    python bench/lstm.py --threads 2 --rounds 7 --iters 20

graphnet: the netdef's train net written in Python, with an `Input` layer (tops chars,
next, cont) fed fixed random characters in place of SequenceData, so no dataset is
needed: Embed(84 -> 64) -> LSTM 128 -> LSTM 128 -> InnerProduct to 84 (axis 2) ->
SoftmaxLoss, windows of 50 characters, batch 64, float32; `Solver("adam", lr_policy=0.01,
clip_gradients=5)` `.step()`. The LSTMs carry (h, c) from window to window. `--threads`
is OMP_NUM_THREADS, so graphnet's pool (graphnet/workers.py: parts of the batch side by
side, OpenBLAS on one thread each) and torch's intra-op threads get the same count.
PyTorch: nn.Embedding(84, 64) + nn.LSTM(64, 128, num_layers=2) + nn.Linear(128, 84) +
CrossEntropyLoss, optim.Adam(lr 0.01; the Linear's bias at 2x, graphnet's InnerProduct
default), clip_grad_norm_(5), (h, c) carried and detached between windows (truncated
back-propagation through time, as graphnet).

Torch starts from graphnet's initial weights: LSTM rows reordered from graphnet's gates
[i, f, o, g] to torch's [i, f, g, o], graphnet's single bias as b_ih, with b_hh zero and
frozen (graphnet has one bias; two trained copies of it would learn at twice the rate).
As a check that both compute the same thing, the script prints both initial losses and
the largest difference between the first step's gradients (relative to the largest
gradient), then both losses after the same number of steps. Those drift apart a little
even in float64: graphnet's Adam is Caffe's, which adds `delta` to sqrt(v) before the bias
correction where torch adds `eps` after it, so gradients much smaller than 1e-8 / sqrt(1 -
beta2^t) move less in graphnet's first steps.

The contenders alternate round by round; median, min and max of characters per second
over the rounds are printed, and the ratio graphnet / torch (above 1: graphnet is
faster). Without torch installed the script times graphnet alone and says so.
"""

import argparse

from threads import pin_blas_threads, torch_with_threads  # bench/threads.py


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--iters", type=int, default=20, help="training steps per round per contender")
    return p.parse_args(argv)


ARGS = parse_args()
pin_blas_threads(ARGS.threads)   # before NumPy is imported

import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import graphnet  # noqa: E402
from medians import print_medians  # noqa: E402
from graphnet.layers import LSTM, Embed, InnerProduct, Input, SoftmaxLoss  # noqa: E402
from graphnet.solver import Solver  # noqa: E402

torch = torch_with_threads(ARGS.threads)
if torch is not None:
    nn = torch.nn

STEPS, BATCH, ALPHABET, EMBED, HIDDEN = 50, 64, 84, 64, 128
LR, CLIP = 0.01, 5.0


def random_window(seed=0):
    """A fixed window of random characters; `next` is each one's successor, as in the text."""
    rng = np.random.default_rng(seed)
    text = rng.integers(0, ALPHABET, size=(STEPS + 1, BATCH))
    return text[:-1].astype(np.float32), text[1:].astype(np.float32)


class Graphnet:
    name = "graphnet"

    def __init__(self):
        shape = [STEPS, BATCH]
        layers = [
            Input(name="text", tops=["chars", "next", "cont"], shapes=[shape, shape, shape]),
            Embed(name="embed", bottoms=["chars"], tops=["embedded"], input_dim=ALPHABET, output_dim=EMBED),
            LSTM(name="lstm1", bottoms=["embedded", "cont"], tops=["h1"], output_dim=HIDDEN),
            LSTM(name="lstm2", bottoms=["h1", "cont"], tops=["h2"], output_dim=HIDDEN),
            InnerProduct(name="scores", bottoms=["h2"], tops=["scores"], output_dim=ALPHABET, axis=2),
            SoftmaxLoss(name="loss", bottoms=["scores", "next"], axis=2),
        ]
        self.net = graphnet.Net("shakespeare", layers, phase="train", backend="numpy", dtype="float32",
                                seed=1)
        chars, following = random_window()
        self.net.blobs["chars"].data[...] = chars
        self.net.blobs["next"].data[...] = following
        self.net.blobs["cont"].data[...] = 1     # one long text: the state always carries on
        self.solver = Solver("adam", lr_policy=LR, clip_gradients=CLIP, max_iter=0,
                             run_dir=tempfile.mkdtemp(prefix="bench-lstm-"))
        self.solver.solve(self.net)     # max_iter=0: sets up state, runs no iteration
        self.weights = {name: [np.array(p.data) for p in params] for name, params in self.net.params.items()}
        self.loss = float(self.net.forward())
        self.net.backward()
        self.grads = {name: [np.array(p.diff) for p in params] for name, params in self.net.params.items()}
        for name in ("lstm1", "lstm2"):          # back to the zero state torch starts from
            self.net.layer(name).hidden[...] = 0
            self.net.layer(name).cell[...] = 0
        self.net.clear_param_diffs()

    def run(self, n):
        for _ in range(n):
            self.solver.step()
        self.loss = float(self.solver.loss)


class Torch:
    name = "torch"

    def __init__(self, weights):
        self.embed = nn.Embedding(ALPHABET, EMBED)
        self.lstm = nn.LSTM(EMBED, HIDDEN, num_layers=2)
        self.linear = nn.Linear(HIDDEN, ALPHABET)
        # graphnet's gate rows [i f o g] in torch's order [i f g o]
        to_torch = np.r_[0:2 * HIDDEN, 3 * HIDDEN:4 * HIDDEN, 2 * HIDDEN:3 * HIDDEN]
        with torch.no_grad():
            self.embed.weight.copy_(torch.from_numpy(weights["embed"][0]))
            for k, name in enumerate(("lstm1", "lstm2")):
                w, u, b = weights[name]
                getattr(self.lstm, f"weight_ih_l{k}").copy_(torch.from_numpy(w[to_torch]))
                getattr(self.lstm, f"weight_hh_l{k}").copy_(torch.from_numpy(u[to_torch]))
                getattr(self.lstm, f"bias_ih_l{k}").copy_(torch.from_numpy(b[to_torch]))
                getattr(self.lstm, f"bias_hh_l{k}").zero_()
                getattr(self.lstm, f"bias_hh_l{k}").requires_grad_(False)
            w, b = weights["scores"]
            self.linear.weight.copy_(torch.from_numpy(w))
            self.linear.bias.copy_(torch.from_numpy(b))
        self.to_torch = to_torch
        self.params = [p for p in self.modules_params() if p.requires_grad]
        others = [p for p in self.params if p is not self.linear.bias]
        self.opt = torch.optim.Adam([{"params": others}, {"params": [self.linear.bias], "lr": 2 * LR}],
                                    lr=LR, betas=(0.9, 0.999), eps=1e-8)
        self.loss_fn = nn.CrossEntropyLoss()
        chars, following = random_window()
        self.chars = torch.from_numpy(chars).long()
        self.next = torch.from_numpy(following).long().reshape(-1)
        self.state = None
        loss = self.forward()
        loss.backward()
        self.loss = float(loss.detach())
        self.state = None

    def grads(self):
        """The gradients, named and laid out as graphnet's."""
        lstm, rows = self.lstm, np.argsort(self.to_torch)
        out = {"embed": [self.embed.weight.grad], "scores": [self.linear.weight.grad, self.linear.bias.grad]}
        for k in range(2):
            out[f"lstm{k + 1}"] = [getattr(lstm, f"{w}_l{k}").grad[rows]
                                   for w in ("weight_ih", "weight_hh", "bias_ih")]
        return {name: [g.numpy() for g in grads] for name, grads in out.items()}

    def modules_params(self):
        return [*self.embed.parameters(), *self.lstm.parameters(), *self.linear.parameters()]

    def forward(self):
        h, state = self.lstm(self.embed(self.chars), self.state)
        self.state = tuple(s.detach() for s in state)
        return self.loss_fn(self.linear(h).reshape(-1, ALPHABET), self.next)

    def run(self, n):
        for _ in range(n):
            self.opt.zero_grad(set_to_none=False)
            loss = self.forward()
            loss.backward()
            nn.utils.clip_grad_norm_(self.params, CLIP)
            self.opt.step()
        self.loss = float(loss.detach())


def main():
    g = Graphnet()
    entries = [g] + ([Torch(g.weights)] if torch is not None else [])
    print(f"character LSTM (netdefs/shakespeare.yaml's train net): {STEPS} steps x batch {BATCH}, "
          f"Embed {ALPHABET}->{EMBED}, LSTM {HIDDEN} x2, InnerProduct ->{ALPHABET}, Adam lr {LR}, "
          f"clip {CLIP:g}, float32, {ARGS.threads} threads (OMP_NUM_THREADS: graphnet's pool"
          + (", torch.set_num_threads" if torch is not None else "") + f"); numpy {np.__version__}, "
          f"kernels {'on' if g.net.backend.kernels is not None else 'off'}, "
          + (f"torch {torch.__version__}" if torch is not None else "torch is not installed: graphnet alone"))
    print("  check: initial loss " + ", ".join(f"{e.name} {e.loss:.6f}" for e in entries))
    if torch is not None:
        theirs = entries[1].grads()
        largest = max(np.abs(d).max() for grads in g.grads.values() for d in grads)
        apart = max(np.abs(d - t).max()
                    for name, grads in g.grads.items() for d, t in zip(grads, theirs[name]))
        print(f"  check: first gradients, largest difference {apart:.2e} of largest gradient {largest:.2e}")
    warm = max(2, ARGS.iters // 5)
    for e in entries:               # warm-up: allocators, BLAS threads, numba's compiled kernels
        e.run(warm)
    rates = {e.name: [] for e in entries}
    for _ in range(ARGS.rounds):
        for e in entries:
            start = time.perf_counter()
            e.run(ARGS.iters)
            rates[e.name].append(STEPS * BATCH * ARGS.iters / (time.perf_counter() - start))
    print(f"\ntraining (forward+backward+clip+Adam): {ARGS.rounds} alternating rounds of "
          f"{ARGS.iters} steps, characters/s")
    print_medians(rates, ",.0f")
    print(f"  check: loss at step {warm + ARGS.rounds * ARGS.iters} "
          + ", ".join(f"{e.name} {e.loss:.6f}" for e in entries))


if __name__ == "__main__":
    main()
