"""MNIST end to end: `graphnet solve netdefs/mnist.yaml` against the same job as a PyTorch script.

    python bench/mnist_solve.py                          # 10,000 iterations each, graphnet first
    python bench/mnist_solve.py --order torch,graphnet --threads 2
    python bench/mnist_solve.py --iterations 200         # smoke test (validates once, at the end)
    python bench/mnist_solve.py --rounds 3               # the contenders alternate, medians printed

Each contender is a fresh child process timed from spawn to exit, the wall time a user
waits for: interpreter start, imports, reading the data, 10,000 training iterations,
the validations and the snapshots. Both get OMP/OPENBLAS/MKL_NUM_THREADS=--threads
(torch also torch.set_num_threads), float32, and write their snapshots into a
temporary directory that is removed afterwards (snapshots/ is left alone).

  graphnet  the `graphnet` command of this environment:
            graphnet solve netdefs/mnist.yaml --dtype float32 --set solver.run_dir=<tmp>
            (+ solver.max_iter and the validation interval when shortened).
            HDF5Data streams train.h5 in 500-row blocks; shuffle: true reshuffles the
            block order and the rows within each block every epoch.
  torch     this file run as `python bench/mnist_solve.py --torch-worker ...`: a plain
            PyTorch script. It reads data/mnist/{train,test}.h5 (the files graphnet
            reads; bytes, times the netdef's scale 1/256) with h5py **into memory once**,
            then DataLoader(TensorDataset, batch_size=64, shuffle=True, drop_last=True)
            (a full reshuffle every epoch, every batch 64 as graphnet's wrap-around
            batches); Caffe's LeNet as nn.Sequential in the default NCHW layout
            (--channels-last for oneDNN's faster layout), Caffe's xavier init
            U(+-sqrt(3/fan_in)) and zero biases; CrossEntropyLoss; optim.SGD lr 0.01
            momentum 0.9 weight decay 5e-4, biases at 2x lr and no decay (graphnet's
            default lr_mult 2 / decay_mult 0); LambdaLR with Caffe's inv policy
            (1 + 1e-4 * it)^-0.75. torch's SGD scales the momentum buffer by the current
            rate (p -= lr*v) where Caffe scales each gradient as it enters (v = mu*v + lr*g):
            the same for a fixed rate, within 0.01 % per step under this slow decay.
            Validation: the full 10k test set at batch 100 under inference_mode, every
            1000 iterations; snapshots: torch.save of model, optimizer and scheduler every
            5000 iterations and at the end (as graphnet's Snapshot break does).

The intervals, batch sizes and solver values come from the netdef: the script stops if
netdefs/mnist.yaml no longer describes the job the torch script does. The table gives the
wall time of each, the time each says it spent in its training loop, its peak RSS
(ru_maxrss from os.wait4 of that child alone; it counts this small driver's footprint at
spawn, printed as the floor) and its last validation accuracy and loss. Ratios are of wall
times: below 1, graphnet is faster. Without torch installed, graphnet runs alone.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NETDEF = os.path.join("netdefs", "mnist.yaml")
CONTENDERS = ("graphnet", "torch")

# The job the torch worker does, in netdefs/mnist.yaml's words (checked against it).
RECIPE = {"seed": 1, "train_batch": 64, "test_batch": 100, "shuffle": True, "method": "sgd",
          "lr_policy": {"type": "inv", "base_lr": 0.01, "gamma": 1.0e-4, "power": 0.75},
          "momentum": 0.9, "weight_decay": 5.0e-4,
          "layers": ["Convolution 20 k5", "Pooling max k2 s2", "Convolution 50 k5", "Pooling max k2 s2",
                     "InnerProduct 500 relu", "InnerProduct 10", "SoftmaxLoss", "Accuracy"]}

from threads import pin_blas_threads  # bench/threads.py


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--order", default="graphnet,torch", help="contenders in the order they run")
    p.add_argument("--iterations", type=int, default=10000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1, help="run the contenders this many times, alternately")
    p.add_argument("--channels-last", action="store_true", help="torch in channels_last (oneDNN)")
    p.add_argument("--torch-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--run-dir", help=argparse.SUPPRESS)
    p.add_argument("--val-every", type=int, help=argparse.SUPPRESS)
    p.add_argument("--snapshot-every", type=int, help=argparse.SUPPRESS)
    p.add_argument("--summary-every", type=int, help=argparse.SUPPRESS)
    return p.parse_args(argv)


ARGS = parse_args()
pin_blas_threads(ARGS.threads)   # before NumPy or torch is imported, here and in every child

import importlib.util  # noqa: E402
import re  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402


# --- torch: the PyTorch script, run in its own process ---------------------------------------

def torch_worker(args):
    import h5py
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    torch.set_num_threads(args.threads)
    torch.manual_seed(RECIPE["seed"])
    policy = RECIPE["lr_policy"]

    def dataset(split):
        with h5py.File(os.path.join("data", "mnist", f"{split}.h5"), "r") as f:
            # the bytes, scaled as the netdef's scale: 0.00390625 scales them
            images = torch.from_numpy(f["data"][()]).float() * 0.00390625
            labels = torch.from_numpy(f["label"][()])
        return TensorDataset(images, labels.long().view(-1))

    train_loader = DataLoader(dataset("train"), batch_size=RECIPE["train_batch"], shuffle=True,
                              drop_last=True)
    test_loader = DataLoader(dataset("test"), batch_size=RECIPE["test_batch"])

    model = nn.Sequential(
        nn.Conv2d(1, 20, 5), nn.MaxPool2d(2, 2),
        nn.Conv2d(20, 50, 5), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(800, 500), nn.ReLU(), nn.Linear(500, 10))
    for m in model:
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            bound = (3.0 / m.weight[0].numel()) ** 0.5   # Caffe's xavier: fan_in
            nn.init.uniform_(m.weight, -bound, bound)
            nn.init.zeros_(m.bias)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    optimizer = torch.optim.SGD(
        [{"params": weights}, {"params": biases, "lr": 2 * policy["base_lr"], "weight_decay": 0.0}],
        lr=policy["base_lr"], momentum=RECIPE["momentum"], weight_decay=RECIPE["weight_decay"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda it: (1 + policy["gamma"] * it) ** -policy["power"])
    loss_fn = nn.CrossEntropyLoss()

    def validate():
        model.eval()
        total, correct = 0.0, 0
        with torch.inference_mode():
            for x, y in test_loader:
                out = model(x.contiguous(memory_format=memory_format))
                total += float(nn.functional.cross_entropy(out, y, reduction="sum"))
                correct += int((out.argmax(1) == y).sum())
        model.train()
        n = len(test_loader.dataset)
        return total / n, correct / n

    def snapshot(iteration):
        torch.save({"iteration": iteration, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict()},
                   os.path.join(args.run_dir, f"snapshot-{iteration:08d}.pt"))

    def batches():
        while True:
            yield from train_loader

    start = clock = time.perf_counter()
    for iteration, (x, y) in enumerate(batches(), 1):
        lr = optimizer.param_groups[0]["lr"]
        optimizer.zero_grad()
        loss = loss_fn(model(x.contiguous(memory_format=memory_format)), y)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if iteration % args.summary_every == 0:
            now = time.perf_counter()
            print(f"iter {iteration:>7}/{args.iterations}  loss {loss.item():.6g}  lr {lr:.4g}  "
                  f"{args.summary_every / (now - clock):,.0f} it/s", flush=True)
            clock = now
        if iteration % args.val_every == 0:
            val_loss, accuracy = validate()
            print(f"validation at iter {iteration}: loss {val_loss:.6g}, accuracy {accuracy:.6g}", flush=True)
        if iteration % args.snapshot_every == 0 or iteration == args.iterations:
            snapshot(iteration)
        if iteration == args.iterations:
            break
    print(f"mnist: {iteration} iterations in {time.perf_counter() - start:.1f} s, loss {loss.item():.6g}; "
          f"run directory {args.run_dir}", flush=True)


# --- the driver: no NumPy or torch here, so the children's peak RSS stays theirs --------------

def netdef_job(path):
    """What netdefs/mnist.yaml asks for, in RECIPE's shape; its coffee breaks {type: (index,
    every_n_iter)}; its max_iter."""
    import yaml
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    data = {l.get("phase"): l for l in doc["layers"] if l["type"] in ("HDF5Data", "AsyncHDF5Data")}

    def describe(l):
        size = l.get("n_filter") or l.get("output_dim")
        words = [l["type"], size, l.get("pool"), l.get("neuron"),
                 f"k{l['kernel']}" if "kernel" in l else None, f"s{l['stride']}" if "stride" in l else None]
        return " ".join(str(w) for w in words if w is not None)

    solver = doc["solver"]
    job = {"seed": doc.get("seed"), "train_batch": data["train"]["batch_size"],
           "test_batch": data["test"]["batch_size"], "shuffle": data["train"].get("shuffle", False),
           "method": solver.get("method"), "lr_policy": solver.get("lr_policy"),
           "momentum": solver.get("momentum"), "weight_decay": solver.get("weight_decay"),
           "layers": [describe(l) for l in doc["layers"] if l not in data.values()]}
    every = {b["type"]: (i, b["every_n_iter"]) for i, b in enumerate(doc.get("coffee_breaks", []))}
    return job, every, solver.get("max_iter")


def peak_rss_mb(usage):
    return usage.ru_maxrss / 1024 if sys.platform != "darwin" else usage.ru_maxrss / 2**20


def run_child(name, cmd):
    """Run cmd with its output echoed; returns (wall s, peak RSS MB of that child, its output)."""
    print(f"\n{name}: {' '.join(cmd)}", flush=True)
    start = time.perf_counter()
    child = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in child.stdout:
        lines.append(line)
        print(f"  {name} | {line}", end="", flush=True)
    child.stdout.close()
    # wait4, not RUSAGE_CHILDREN: the latter is the largest peak of all children so far.
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        sys.exit(f"{name} failed with status {child.returncode}; its output is above")
    return wall, peak_rss_mb(usage), "".join(lines)


def parse_output(text):
    """The training-loop seconds and final loss of the last line, and the last validation."""
    end = re.findall(r"\d+ iterations in ([\d.]+) s,(?: now at iteration \d+,)? loss (\S+);", text)
    val = re.findall(r"validation at iter (\d+): .*?accuracy ([\d.eE+-]+)", text)
    return {"loop_s": float(end[-1][0]) if end else None, "loss": float(end[-1][1]) if end else None,
            "accuracy": float(val[-1][1]) if val else None, "val_iter": int(val[-1][0]) if val else None}


def command(name, run_dir, every, max_iter):
    if name == "graphnet":
        exe = os.path.join(os.path.dirname(sys.executable), "graphnet")
        cmd = [exe] if os.path.exists(exe) else [sys.executable, "-m", "graphnet"]
        cmd += ["solve", NETDEF, "--dtype", "float32", "--set", f"solver.run_dir={run_dir}"]
        if ARGS.iterations != max_iter:
            cmd += ["--set", f"solver.max_iter={ARGS.iterations}"]
        index, val_every = every["ValidationPerformance"]
        if ARGS.iterations < val_every:
            cmd += ["--set", f"coffee_breaks.{index}.every_n_iter={ARGS.iterations}"]
        return cmd
    return [sys.executable, os.path.abspath(__file__), "--torch-worker", "--threads", str(ARGS.threads),
            "--iterations", str(ARGS.iterations), "--run-dir", run_dir,
            "--val-every", str(min(every["ValidationPerformance"][1], ARGS.iterations)),
            "--snapshot-every", str(every["Snapshot"][1]),
            "--summary-every", str(every["TrainingSummary"][1]),
            *(["--channels-last"] if ARGS.channels_last else [])]


def main():
    if ARGS.torch_worker:
        torch_worker(ARGS)
        return
    os.chdir(ROOT)
    order = [name.strip() for name in ARGS.order.split(",")]
    if sorted(order) != sorted(CONTENDERS):
        sys.exit(f"--order: expected graphnet and torch once each, e.g. graphnet,torch; got {ARGS.order!r}")
    if not all(os.path.exists(os.path.join("data", "mnist", f"{s}.h5")) for s in ("train", "test")):
        sys.exit("data/mnist/train.h5 and test.h5 are missing: run `graphnet data mnist` first")
    job, every, max_iter = netdef_job(NETDEF)
    if job != RECIPE:
        differ = [k for k in RECIPE if job.get(k) != RECIPE[k]]
        sys.exit(f"{NETDEF} no longer matches the torch script's job ({', '.join(differ)}): "
                 f"netdef {[job.get(k) for k in differ]}, script {[RECIPE[k] for k in differ]}")
    if importlib.util.find_spec("torch") is None:
        print("torch is not installed: graphnet alone")
        order = ["graphnet"]
    val_every = min(every["ValidationPerformance"][1], ARGS.iterations)
    print(f"MNIST LeNet end to end: {ARGS.iterations} iterations, validation every {val_every}, "
          f"{ARGS.threads} threads, float32, order {','.join(order)}, {ARGS.rounds} round(s)"
          + (", torch channels_last" if ARGS.channels_last else ""))
    runs = {name: [] for name in order}
    for _ in range(ARGS.rounds):
        for name in order:
            with tempfile.TemporaryDirectory(prefix=f"bench-mnist-{name}-") as run_dir:
                wall, rss, text = run_child(name, command(name, run_dir, every, max_iter))
            runs[name].append({"wall_s": wall, "rss_mb": rss, **parse_output(text)})
    report(runs)


def shown(value, spec):
    return "-" if value is None else format(value, spec)


def report(runs):
    import resource
    from medians import print_medians
    driver = resource.getrusage(resource.RUSAGE_SELF)
    print(f"\n  {'run':<12} {'wall s':>8} {'loop s':>8} {'peak RSS MB':>12} {'accuracy':>9} {'at iter':>8} "
          f"{'final loss':>11}")
    for name, results in runs.items():
        for i, r in enumerate(results, 1):
            print(f"  {name + ' ' + str(i):<12} {r['wall_s']:>8.1f} {shown(r['loop_s'], '.1f'):>8} "
                  f"{r['rss_mb']:>12.0f} {shown(r['accuracy'], '.4f'):>9} {shown(r['val_iter'], 'd'):>8} "
                  f"{shown(r['loss'], '.6g'):>11}")
    print(f"  (peak RSS floor: this driver's own {peak_rss_mb(driver):.0f} MB; 'loop s' is the time each "
          f"reports for its training loop, after imports and setup)")
    print("\nwall seconds, median of the rounds (ratio below 1: graphnet is faster)")
    print_medians({name: [r["wall_s"] for r in results] for name, results in runs.items()}, ".1f")


if __name__ == "__main__":
    main()
