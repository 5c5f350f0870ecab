"""A run directory belongs to one run: locked while it trains, never overwritten by a new run."""

import filecmp
import os
import signal

import h5py
import numpy as np

from graphnet.io.run_dir import RunDirectory
from graphnet.io.snapshot import Snapshot

from ..runs import graphnet, run, wait_for, wide_netdef


def _listing(folder):
    """The run's files and their times; a live run's temporary files come and go, so they
    are left out."""
    return {name: os.path.getmtime(os.path.join(folder, name)) for name in os.listdir(folder)
            if name != ".lock" and ".tmp" not in name}


def test_a_second_solve_into_a_held_run_directory_exits_2_naming_the_holder(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=10**6, every=50)
    first = graphnet("solve", netdef)
    run_dir = tmp_path / "run"
    wait_for(lambda: (run_dir / "snapshot-00000050.h5").exists(), what="the first run's snapshot")
    for args in (["solve", netdef, "--resume"], ["solve", netdef], ["solve", netdef, "--fresh"]):
        before = _listing(run_dir)
        code, out, err = run(*args)
        assert code == 2, (out, err)
        assert err == (f"{run_dir}: is in use by another graphnet solve (PID {first.pid}); wait for "
                       "it to end, or give this run another solver.run_dir\n")
        after = _listing(run_dir)
        gone = [n for n in before if n not in after]
        assert not gone, "the second run removed the first's files"
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err
    assert not [n for n in os.listdir(run_dir) if ".tmp" in n]


def test_the_lock_dies_with_a_killed_run(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=10**6, every=20)
    process = graphnet("solve", netdef)
    wait_for(lambda: (tmp_path / "run" / "snapshot-00000020.h5").exists(), what="a snapshot")
    process.kill()
    process.communicate()
    code, out, err = run("solve", netdef, "--resume", "--set", "solver.max_iter=5")
    assert code == 0 and err == "", err
    assert "nothing to do" in out


def test_a_lock_is_taken_in_process_too(tmp_path):
    with RunDirectory(tmp_path):
        try:
            RunDirectory(tmp_path).lock()
        except Exception as err:
            assert f"PID {os.getpid()}" in str(err)
        else:
            raise AssertionError("a second lock on a held directory was granted")
    RunDirectory(tmp_path).lock().unlock()


def test_a_fresh_run_into_a_run_directory_that_holds_one_is_refused(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=20)
    assert run("solve", netdef)[0] == 0
    run_dir = tmp_path / "run"
    before = _listing(run_dir)
    code, out, err = run("solve", netdef, "--set", "seed=9")
    assert code == 2
    assert err == (f"{run_dir}: already holds a run (snapshot-00000010.h5, snapshot-00000020.h5, "
                   "statistics.h5): give --resume to continue it, --fresh to move it aside and "
                   "start anew, or set solver.run_dir to another folder\n")
    assert _listing(run_dir) == before


def test_fresh_moves_the_old_run_aside_and_deletes_nothing(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=20)
    assert run("solve", netdef)[0] == 0
    run_dir = tmp_path / "run"
    keep = tmp_path / "keep"
    os.makedirs(keep)
    for name in os.listdir(run_dir):
        if name.endswith(".h5"):
            os.link(run_dir / name, keep / name)
    code, out, err = run("solve", netdef, "--fresh", "--set", "seed=9", "--set", "solver.max_iter=10")
    assert code == 0, err
    aside = [n for n in os.listdir(run_dir) if n.startswith("previous-")]
    assert len(aside) == 1 and f"aside into {run_dir / aside[0]}" in out
    assert sorted(os.listdir(run_dir / aside[0])) == sorted(os.listdir(keep))
    for name in os.listdir(keep):
        assert filecmp.cmp(keep / name, run_dir / aside[0] / name, shallow=False)
    # The new run is alone in the directory: --resume continues it, not the old one.
    assert sorted(n for n in os.listdir(run_dir) if n.endswith(".h5")) == [
        "snapshot-00000010.h5", "statistics.h5"]
    code, out, err = run("solve", netdef, "--resume", "--set", "seed=9", "--set", "solver.max_iter=20")
    assert code == 0 and f"resumed from {run_dir / 'snapshot-00000010.h5'} at iteration 10" in out


def test_resuming_a_finished_run_has_nothing_to_do_and_changes_nothing(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=20)
    code, out, err = run("solve", netdef)
    loss = float(out.rsplit("loss ", 1)[1].split(";")[0])
    run_dir = tmp_path / "run"
    before = _listing(run_dir)
    code, out, err = run("solve", netdef, "--resume")
    assert code == 0 and err == ""
    assert out.splitlines()[-1] == (f"{run_dir}: nothing to do: the run already reached iteration 20 "
                                    f"(max_iter 20, loss {loss:.6g}); raise solver.max_iter to train "
                                    "on, e.g. --set solver.max_iter=40")
    assert "nan" not in out
    assert _listing(run_dir) == before


def test_resuming_an_earlier_snapshot_moves_the_later_ones_aside(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=40)
    assert run("solve", netdef)[0] == 0
    run_dir = tmp_path / "run"
    code, out, err = run("solve", netdef, "--resume", str(run_dir / "snapshot-00000020.h5"),
                         "--set", "solver.max_iter=30", "--set", "solver.lr_policy=0.001")
    assert code == 0, err
    aside = [n for n in os.listdir(run_dir) if n.startswith("previous-")]
    assert len(aside) == 1
    assert sorted(os.listdir(run_dir / aside[0])) == ["snapshot-00000030.h5", "snapshot-00000040.h5"]
    with Snapshot(run_dir / "snapshot-00000030.h5") as snap:   # of the new branch
        assert snap.netdef["solver"]["solver"]["lr_policy"] == "fixed(base_lr=0.001)"
    code, out, err = run("solve", netdef, "--resume")
    assert code == 0 and "snapshot-00000030.h5 at iteration 30" in out
    with h5py.File(run_dir / "statistics.h5") as f:
        assert np.array_equal(f["train/loss/iteration"][()], np.arange(1, 41))
