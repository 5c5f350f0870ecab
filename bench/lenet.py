"""Caffe's LeNet on the CPU: graphnet against PyTorch (NCHW and channels_last), side by side.

    python bench/lenet.py                      # 2 threads, 7 rounds, training and inference, memory
    python bench/lenet.py --threads 2 --rounds 7 --train-iters 30 --infer-iters 5
    python bench/lenet.py --no-memory          # skip the per-contender child processes
    python bench/lenet.py --device cuda --train-iters 200 --infer-iters 50   # CuPy against CUDA

The graphnet net is netdefs/mnist.yaml's layers written in Python with an `Input` layer
in place of HDF5Data, fed fixed random data (no MNIST files needed); the PyTorch model is
the same layers. float32 everywhere, the same thread count for NumPy's BLAS and PyTorch.

(a) training images/s at batch 64: graphnet `Solver("sgd", lr_policy=0.01, momentum=0.9)`
    `.step()` (forward, backward, update) against torch forward + backward + optim.SGD
    (momentum 0.9, biases at 2x lr as graphnet's InnerProduct/Convolution default).
(b) inference images/s at batch 1000: forward only (graphnet net built with phase="test",
    torch under inference_mode).
The contenders alternate round by round; median, min and max of the rounds are printed,
and graphnet / torch ratios of the medians (above 1: graphnet is faster).

Peak memory: each contender is also run alone in a fresh child process (`--child KIND:NAME`)
that reports its peak resident set (VmHWM from /proc/self/status, the per-process peak;
ru_maxrss would be wrong here, since Linux carries the parent's ru_maxrss into a child
across fork+exec) after imports and after building and running; the difference is what the
model, its buffers and its workspaces added on top of the interpreter + libraries.
A graphnet child never imports torch.

Without torch installed the script runs graphnet alone and says so. With `--device cuda`
graphnet runs on CuPy and torch on CUDA, each round between device synchronizations, and
the memory runs (host memory) are skipped.
"""

import argparse
import json
import os
import subprocess
import sys

from threads import pin_blas_threads, torch_with_threads  # bench/threads.py


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--train-iters", type=int, default=30, help="training steps per round per contender")
    p.add_argument("--infer-iters", type=int, default=5, help="inference batches per round per contender")
    p.add_argument("--train-batch", type=int, default=64)
    p.add_argument("--infer-batch", type=int, default=1000)
    p.add_argument("--no-memory", action="store_true", help="skip the child-process memory runs")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: graphnet on CuPy, torch on the GPU")
    p.add_argument("--child", help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args()
pin_blas_threads(ARGS.threads)   # before NumPy is imported

import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import graphnet  # noqa: E402
from medians import print_medians  # noqa: E402
from graphnet.layers import Convolution, InnerProduct, Input, Pooling, SoftmaxLoss  # noqa: E402
from graphnet.solver import Solver  # noqa: E402

TORCH_WANTED = ARGS.child is None or "torch" in ARGS.child
torch = torch_with_threads(ARGS.threads) if TORCH_WANTED else None
DEVICE = ARGS.device
if torch is not None:
    nn = torch.nn


# --- graphnet -----------------------------------------------------------------------------

def graphnet_lenet(batch, phase):
    """netdefs/mnist.yaml's layers with an Input layer instead of HDF5Data."""
    layers = []
    if phase == "train":
        layers.append(Input(name="input", tops=["data", "label"], shapes=[[batch, 1, 28, 28], [batch]]))
    else:
        layers.append(Input(name="input", tops=["data"], shapes=[[batch, 1, 28, 28]]))
    layers += [
        Convolution(name="conv1", bottoms=["data"], tops=["conv1"], n_filter=20, kernel=5),
        Pooling(name="pool1", bottoms=["conv1"], tops=["pool1"], pool="max", kernel=2, stride=2),
        Convolution(name="conv2", bottoms=["pool1"], tops=["conv2"], n_filter=50, kernel=5),
        Pooling(name="pool2", bottoms=["conv2"], tops=["pool2"], pool="max", kernel=2, stride=2),
        InnerProduct(name="ip1", bottoms=["pool2"], tops=["ip1"], output_dim=500, neuron="relu"),
        InnerProduct(name="ip2", bottoms=["ip1"], tops=["ip2"], output_dim=10),
    ]
    if phase == "train":
        layers.append(SoftmaxLoss(name="loss", bottoms=["ip2", "label"]))
    backend = "cupy" if ARGS.device == "cuda" else "numpy"
    return graphnet.Net("lenet", layers, phase=phase, backend=backend, dtype="float32", seed=1)


def random_batch(batch, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, size=batch).astype(np.float32)
    return x, y


class GraphnetTrain:
    name = "graphnet"

    def __init__(self, batch):
        self.net = graphnet_lenet(batch, "train")
        x, y = random_batch(batch)
        self.net.blobs["data"].data[...] = self.net.backend.asarray(x)
        self.net.blobs["label"].data[...] = self.net.backend.asarray(y)
        self.run_dir = tempfile.mkdtemp(prefix="bench-lenet-")
        self.solver = Solver("sgd", lr_policy=0.01, momentum=0.9, max_iter=0, run_dir=self.run_dir)
        self.solver.solve(self.net)     # max_iter=0: sets up state, runs no iteration

    def run(self, n):
        for _ in range(n):
            self.solver.step()


class GraphnetInfer:
    name = "graphnet"

    def __init__(self, batch):
        self.net = graphnet_lenet(batch, "test")
        self.net.blobs["data"].data[...] = self.net.backend.asarray(random_batch(batch)[0])

    def run(self, n):
        for _ in range(n):
            self.net.forward()


# --- torch --------------------------------------------------------------------------------

def torch_lenet():
    return nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2),
        nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))


def copy_weights(net, model):
    """graphnet's initial parameters into the torch model (same layouts: (out, in, kh, kw), (out, in))."""
    torch_layers = [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for name, m in zip(["conv1", "conv2", "ip1", "ip2"], torch_layers):
            w, b = net.params[name]
            m.weight.copy_(torch.from_numpy(net.backend.to_host(w.data).reshape(m.weight.shape)))
            m.bias.copy_(torch.from_numpy(net.backend.to_host(b.data).reshape(m.bias.shape)))


class TorchTrain:
    def __init__(self, batch, channels_last, init_from=None):
        self.name = "torch channels_last" if channels_last else "torch NCHW"
        self.model = torch_lenet()
        if init_from is not None:
            copy_weights(init_from, self.model)
        x, y = random_batch(batch)
        self.x, self.y = torch.from_numpy(x).to(DEVICE), torch.from_numpy(y).long().to(DEVICE)
        self.model = self.model.to(DEVICE)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)
        weights = [p for n, p in self.model.named_parameters() if n.endswith("weight")]
        biases = [p for n, p in self.model.named_parameters() if n.endswith("bias")]
        # graphnet's default: biases learn at 2x the rate (lr_mult 2), no weight decay here
        self.opt = torch.optim.SGD([{"params": weights, "lr": 0.01}, {"params": biases, "lr": 0.02}],
                                   lr=0.01, momentum=0.9)
        self.loss_fn = nn.CrossEntropyLoss()

    def step(self):
        self.opt.zero_grad(set_to_none=False)
        loss = self.loss_fn(self.model(self.x), self.y)
        loss.backward()
        self.opt.step()
        return loss

    def run(self, n):
        for _ in range(n):
            self.step()


class TorchInfer:
    def __init__(self, batch, channels_last):
        self.name = "torch channels_last" if channels_last else "torch NCHW"
        self.model = torch_lenet().eval().to(DEVICE)
        self.x = torch.from_numpy(random_batch(batch)[0]).to(DEVICE)
        if channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
            self.x = self.x.contiguous(memory_format=torch.channels_last)

    def run(self, n):
        with torch.inference_mode():
            for _ in range(n):
                self.model(self.x)


# --- running ------------------------------------------------------------------------------

def contenders(kind, init_from=None):
    batch = ARGS.train_batch if kind == "train" else ARGS.infer_batch
    if kind == "train":
        out = [GraphnetTrain(batch)]
        if torch is not None:
            out += [TorchTrain(batch, False, init_from=out[0].net), TorchTrain(batch, True, init_from=out[0].net)]
    else:
        out = [GraphnetInfer(batch)]
        if torch is not None:
            out += [TorchInfer(batch, False), TorchInfer(batch, True)]
    return out, batch


def check_same_loss(entries):
    """Same initial weights and data: graphnet's first-forward loss against torch's."""
    g = entries[0]
    loss_g = g.net.forward()
    g.net.clear_param_diffs()
    with torch.no_grad():
        losses = [float(t.loss_fn(t.model(t.x), t.y)) for t in entries[1:]]
    print(f"  check: initial loss graphnet {loss_g:.6f}, "
          + ", ".join(f"{t.name} {l:.6f}" for t, l in zip(entries[1:], losses)))


def bench(kind):
    entries, batch = contenders(kind)
    iters = ARGS.train_iters if kind == "train" else ARGS.infer_iters
    if kind == "train" and torch is not None:
        check_same_loss(entries)
    for e in entries:               # warm-up: allocators, oneDNN primitives, BLAS threads
        e.run(max(2, iters // 5))
    rates = {e.name: [] for e in entries}
    for _ in range(ARGS.rounds):
        for e in entries:
            synchronize(entries)
            start = time.perf_counter()
            e.run(iters)
            synchronize(entries)
            rates[e.name].append(batch * iters / (time.perf_counter() - start))
    title = {"train": f"training (forward+backward+SGD momentum), batch {batch}",
             "infer": f"inference (forward only), batch {batch}"}[kind]
    print(f"\n{title}: {ARGS.rounds} alternating rounds of {iters} iterations, images/s")
    return print_medians(rates, ",.0f")


def synchronize(entries):
    """Wait for the GPU's queued work (graphnet's and torch's); nothing on the CPU."""
    if ARGS.device == "cuda":
        entries[0].net.backend.synchronize()
        if torch is not None:
            torch.cuda.synchronize()


def maxrss_mb():
    """This process's peak resident set in MB: VmHWM of /proc/self/status where there is one.

    ru_maxrss is not used where VmHWM exists: Linux carries a parent's ru_maxrss across
    fork+exec into the child, so a child of this (torch-laden) process would report the
    parent's peak. VmHWM belongs to the process's own address space, new at exec.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # Linux: kB; macOS: bytes


def child(spec):
    """One contender alone: ru_maxrss after imports, then after building and running it."""
    kind, name = spec.split(":", 1)
    if name == "graphnet":
        # Its libraries as torch's import loads its own: numba's LLVM and the compiled
        # kernels, which graphnet loads at the first net that uses them.
        from graphnet.backend import Backend
        Backend("numpy").kernels
    before = maxrss_mb()
    batch = ARGS.train_batch if kind == "train" else ARGS.infer_batch
    if name == "graphnet":
        e = GraphnetTrain(batch) if kind == "train" else GraphnetInfer(batch)
    else:
        cl = name == "torch-channels_last"
        e = TorchTrain(batch, cl) if kind == "train" else TorchInfer(batch, cl)
    e.run(10 if kind == "train" else 3)
    print(json.dumps({"before_mb": before, "after_mb": maxrss_mb()}))


def memory():
    names = ["graphnet"] + (["torch-NCHW", "torch-channels_last"] if torch is not None else [])
    print("\npeak memory (peak RSS, VmHWM, of one child process per contender; 'added' = peak after "
          "building and running minus peak after imports)")
    print(f"  {'run':<30} {'imports MB':>11} {'peak MB':>9} {'added MB':>9}")
    for kind in ("train", "infer"):
        for name in names:
            cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(ARGS.threads),
                   "--train-batch", str(ARGS.train_batch), "--infer-batch", str(ARGS.infer_batch),
                   "--child", f"{kind}:{name}"]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"  {kind + ' ' + name:<30} {r['before_mb']:>11.0f} {r['after_mb']:>9.0f} "
                  f"{r['after_mb'] - r['before_mb']:>9.0f}")


def main():
    if ARGS.child:
        child(ARGS.child)
        return
    if ARGS.device == "cuda" and not graphnet.cupy_available():
        sys.exit("--device cuda needs CuPy and an NVIDIA GPU, and this machine has none")
    if ARGS.device == "cuda":
        print("LeNet, float32, graphnet on CuPy, torch on CUDA"
              + (f": {torch.cuda.get_device_name()}" if torch is not None else ""))
    print(f"LeNet, float32, {ARGS.threads} threads (OMP/OPENBLAS_NUM_THREADS"
          + (", torch.set_num_threads" if torch is not None else "") + f"); numpy {np.__version__}, "
          f"graphnet {getattr(graphnet, '__version__', '?')}, "
          + (f"torch {torch.__version__} (mkldnn {torch.backends.mkldnn.is_available()})"
             if torch is not None else "torch is not installed: graphnet alone"))
    bench("train")
    bench("infer")
    if not ARGS.no_memory and ARGS.device == "cpu":
        memory()


if __name__ == "__main__":
    main()
