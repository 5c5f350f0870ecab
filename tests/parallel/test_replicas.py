"""Every process must hold the same model: a drift is found by the check every
DataParallel.check_every iterations and said once; BatchNorm's running statistics, which
each process computes from its own rows, are rank 0's everywhere (as PyTorch DDP does)."""

import subprocess
import sys

from .mpi import ENV, MPIEXEC, needs_mpi, params, run

pytestmark = needs_mpi

NET = """\
name: bn
seed: 2
dtype: float64
layers:
  - {name: data, type: MemoryData, tops: [x, y], batch_size: 8, shuffle: true,
     source: {type: linear, n: 64, dim: 6, noise: 0.1, seed: 1}}
  - {name: hid, type: InnerProduct, bottoms: [x], tops: [h], output_dim: 8}
  - {name: bn, type: BatchNorm, bottoms: [h], tops: [hb]}
  - {name: out, type: InnerProduct, bottoms: [hb], tops: [p], output_dim: 1}
  - {name: loss, type: SquareLoss, bottoms: [p, y]}
solver: {method: sgd, lr_policy: 0.01, max_iter: 120, run_dir: RUN}
coffee_breaks:
  - {type: Snapshot, every_n_iter: 120}
"""

# A user's script under mpiexec: from Python, with a coffee break that nudges one parameter
# of process 1 only, as a bug or a bad memory would.
DRIFT = """
import sys
import graphnet
from graphnet.netdef import load_netdef
from graphnet.coffee.breaks import CoffeeBreak
from graphnet.parallel import sharded
from graphnet.parallel.worker import run_as_rank
from graphnet.solver import Solver

class Nudge(CoffeeBreak):
    def run(self, solver):
        if solver.comm.rank == 1:
            solver.net.param_data[0] += 1e-12

def body(team):
    netdef = load_netdef(sys.argv[1])
    net = graphnet.Net(netdef.name, sharded(netdef.layers, team), dtype="float64", seed=2)
    solver = Solver.from_netdef(netdef)
    solver.add_coffee_break(Nudge(), every_n_iter=50)
    solver.solve(net, comm=team)

run_as_rank(body)
"""


def test_batch_norm_statistics_stay_the_same_on_every_process(tmp_path):
    netdef = tmp_path / "bn.yaml"
    netdef.write_text(NET.replace("RUN", str(tmp_path / "run")))
    code, out, err = run("solve", str(netdef))
    assert code == 0, err   # the check at iteration 100 found the processes agreeing
    assert set(params(tmp_path / "run/snapshot-00000120.h5")) >= {"bn/mean", "bn/variance"}


def test_processes_that_drift_apart_are_one_error(tmp_path):
    netdef = tmp_path / "bn.yaml"
    netdef.write_text(NET.replace("RUN", str(tmp_path / "run")))
    script = tmp_path / "drift.py"
    script.write_text(DRIFT)
    done = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(script), str(netdef)],
                          capture_output=True, text=True, env=ENV, timeout=120)
    # Open MPI's output forwarding sometimes puts a NUL byte before a line it passes on.
    said = [line.strip("\x00") for line in done.stderr.splitlines() if "differ" in line]
    assert done.returncode == 2
    assert said == ["net 'bn': the parameters of process(es) 1 differ from those of process 0 at "
                    "iteration 100: the processes no longer train one model"], done.stderr
