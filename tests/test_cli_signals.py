"""Ctrl-C at any moment of `graphnet solve`: one line or none, never a traceback, and never a
death by signal once the work is saved."""

import os
import signal
import time

import pytest

from graphnet.io.snapshot import Snapshot, newest_snapshot

from .runs import graphnet, run, wait_for, wide_netdef


def _has_loaded(pid, library):
    try:
        with open(f"/proc/{pid}/maps") as f:
            return library in f.read()
    except FileNotFoundError:  # it already ended
        return True


@pytest.mark.skipif(not os.path.exists("/proc/self/maps"), reason="needs Linux's /proc")
@pytest.mark.parametrize("library", ["_multiarray_umath", "libhdf5", "_yaml"])
def test_ctrl_c_during_start_up_is_one_line(tmp_path, library):
    """Sent while graphnet loads its libraries (NumPy, HDF5, YAML), before training starts."""
    netdef = wide_netdef(tmp_path, max_iter=10**6)
    process = graphnet("solve", netdef)
    wait_for(lambda: _has_loaded(process.pid, library), timeout=30, what=library)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert (process.returncode, err) in ((130, "graphnet: interrupted\n"), (0, "")), (process.returncode, err)


def test_more_ctrl_c_after_the_snapshot_is_written_change_nothing(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=10**6, every=100)
    process = graphnet("solve", netdef)
    wait_for(lambda: newest_snapshot(str(tmp_path / "run")) is not None, what="a snapshot")
    process.send_signal(signal.SIGINT)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("SIGINT at iteration"):
            break
    while process.poll() is None:   # Ctrl-C again and again while it ends
        process.send_signal(signal.SIGINT)
        time.sleep(0.002)
    out, err = process.communicate()
    assert process.returncode == 0, err
    assert err == ""
    iteration = int(lines[-1].split()[3].rstrip(":"))
    with Snapshot(newest_snapshot(str(tmp_path / "run"))) as snap:
        assert snap.iteration == iteration


def test_a_second_ctrl_c_before_the_snapshot_aborts_without_a_traceback(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=10**6, every=100)
    process = graphnet("solve", netdef)
    wait_for(lambda: newest_snapshot(str(tmp_path / "run")) is not None, what="a snapshot")
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert "Traceback" not in err
    assert (process.returncode, err) in ((130, "graphnet: interrupted\n"), (0, "")), (process.returncode, err)
    code, out, err = run("solve", netdef, "--resume", "--set", "solver.max_iter=1")
    assert code == 0 and "resumed from" in out and err == ""
