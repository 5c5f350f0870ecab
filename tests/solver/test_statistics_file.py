"""statistics.h5 is durable up to the newest snapshot, however the run ends, and a damaged one
is kept aside with one line, never a traceback."""

import os
import time

import h5py
import numpy as np

from graphnet.io.run_dir import snapshots
from graphnet.io.snapshot import Snapshot, newest_snapshot

from ..runs import graphnet, run, wait_for, wide_netdef


def _statistics(path):
    with h5py.File(path, "r") as f:
        return {key: (f[key]["iteration"][()], f[key]["value"][()])
                for key in ("train/loss", "train/learning_rate")}


def test_after_kill_9_the_statistics_cover_every_iteration_up_to_the_newest_snapshot(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=10**6, every=25, hidden=50)
    run_dir = tmp_path / "run"
    rng = np.random.default_rng(5)
    kept = {}
    for kill in range(4):
        process = graphnet("solve", netdef, *(["--resume"] if kill else []))
        wait_for(lambda: len(snapshots(run_dir)) >= 4 * (kill + 1), what="snapshots")
        time.sleep(rng.uniform(0, 0.3))
        process.kill()
        process.communicate()
        with Snapshot(newest_snapshot(str(run_dir))) as snap:
            newest = snap.iteration
        stats = _statistics(run_dir / "statistics.h5")
        iterations, values = stats["train/loss"]
        assert iterations[0] == 1 and np.array_equal(iterations, np.arange(1, len(iterations) + 1))
        assert iterations[-1] >= newest, (iterations[-1], newest)
        for i, v in kept.items():  # what came before a snapshot is never rewritten
            assert values[i - 1] == v
        kept.update({int(i): v for i, v in zip(iterations, values) if i <= newest})
    code, out, err = run("solve", netdef, "--resume", "--set", f"solver.max_iter={max(kept) + 30}")
    assert code == 0, err
    iterations, values = _statistics(run_dir / "statistics.h5")["train/loss"]
    assert np.array_equal(iterations, np.arange(1, max(kept) + 31))
    assert all(values[i - 1] == v for i, v in kept.items())


def test_a_damaged_statistics_file_is_kept_aside_with_one_line(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=20)
    assert run("solve", netdef)[0] == 0
    path = tmp_path / "run" / "statistics.h5"
    os.truncate(path, os.path.getsize(path) // 2)
    damaged = path.read_bytes()
    code, out, err = run("solve", netdef, "--resume", "--set", "solver.max_iter=30")
    assert code == 0 and err == ""
    warnings = [line for line in out.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"warning: {path} is damaged (")
    assert warnings[0].endswith(f"kept it as {path}.damaged and recording statistics anew from "
                                "iteration 20")
    assert (tmp_path / "run" / "statistics.h5.damaged").read_bytes() == damaged
    iterations, _ = _statistics(path)["train/loss"]
    assert np.array_equal(iterations, np.arange(21, 31))


def test_statistics_are_written_before_each_snapshot(tmp_path):
    """A snapshot's iteration is always covered: the file is saved first."""
    netdef = wide_netdef(tmp_path, max_iter=10**6, every=7, hidden=20)
    process = graphnet("solve", netdef)
    seen = set()
    try:
        wait_for(lambda: newest_snapshot(str(tmp_path / "run")) is not None, what="a snapshot")
        for _ in range(30):
            newest = newest_snapshot(str(tmp_path / "run"))
            iteration = int(os.path.basename(newest)[9:17])
            with h5py.File(tmp_path / "run" / "statistics.h5", "r") as f:
                assert f["train/loss/iteration"][-1] >= iteration
            seen.add(iteration)
            time.sleep(0.01)
    finally:
        process.kill()
        process.communicate()
    assert len(seen) > 3
