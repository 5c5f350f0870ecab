"""Faults in a job of two processes: a killed process ends the job within seconds with one
line naming it, never a hang; Ctrl-C gives a snapshot and a clean end; a netdef mistake is
said once; processes that drift apart are an error."""

import os
import signal
import time

import pytest

from graphnet.io.snapshot import Snapshot, newest_snapshot

from ..runs import wait_for, wide_netdef
from .mpi import needs_mpi, run, start

pytestmark = needs_mpi


def _children(pid):
    """PIDs of the processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _ranks(launcher_pid):
    """{rank: pid} of the graphnet processes a `--procs` launcher's mpiexec started."""
    ranks = {}
    for mpiexec in _children(launcher_pid):
        for pid in _children(mpiexec):
            try:
                with open(f"/proc/{pid}/environ", "rb") as f:
                    env = dict(v.split(b"=", 1) for v in f.read().split(b"\0") if b"=" in v)
            except OSError:
                continue
            if b"OMPI_COMM_WORLD_RANK" in env:
                ranks[int(env[b"OMPI_COMM_WORLD_RANK"])] = pid
    return ranks


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="needs Linux's /proc")
def test_a_killed_process_ends_the_job_with_one_line(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=10**6, every=100)
    job = start("solve", netdef, launcher=True)
    wait_for(lambda: newest_snapshot(str(tmp_path / "run")) is not None, what="training")
    ranks = _ranks(job.pid)
    assert sorted(ranks) == [0, 1], ranks
    os.kill(ranks[1], signal.SIGKILL)
    killed = time.monotonic()
    out, err = job.communicate(timeout=30)
    assert time.monotonic() - killed < 10
    assert job.returncode != 0
    assert err.splitlines() == [f"graphnet: process 1 (PID {ranks[1]}) died of signal 9 (Killed); "
                                "mpiexec ended the job"], err


@pytest.mark.parametrize("launcher, signum", [(True, signal.SIGINT), (False, signal.SIGUSR1)],
                         ids=["ctrl-c to solve --procs", "sigusr1 to mpiexec"])
def test_ctrl_c_writes_a_snapshot_and_ends_cleanly(tmp_path, launcher, signum):
    netdef = wide_netdef(tmp_path, max_iter=10**6, every=100)
    job = start("solve", netdef, launcher=launcher)
    wait_for(lambda: newest_snapshot(str(tmp_path / "run")) is not None, what="training")
    job.send_signal(signum)
    out, err = job.communicate(timeout=60)
    assert (job.returncode, err) == (0, ""), err
    said = [line for line in out.splitlines() if " at iteration " in line and "wrote" in line]
    assert len(said) == 1, out
    snap = Snapshot(said[0].rsplit(" ", 1)[1])
    assert snap.solver_attrs["processes"] == 2 and snap.iteration % 100 != 0


def test_a_netdef_mistake_is_said_once(tmp_path):
    netdef = tmp_path / "bad.yaml"
    netdef.write_text(open(wide_netdef(tmp_path)).read().replace("output_dim: 1}", "output_dim: -1}"))
    code, out, err = run("solve", str(netdef))
    assert code == 2
    # Plain mpiexec frames its own messages and may put a NUL before the next line.
    mistakes = [line.strip("\0") for line in err.splitlines() if "output_dim" in line]
    assert len(mistakes) == 1 and mistakes[0].startswith(f"{netdef}:"), err
    job = start("solve", str(netdef), launcher=True)
    out, err = job.communicate(timeout=60)
    assert job.returncode == 2 and err.splitlines() == mistakes, err
