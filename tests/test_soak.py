"""kill -9 at random moments of a run, again and again: every start goes on from the newest
snapshot, statistics.h5 always covers every iteration up to it, no temporary file outlives the
next start, and the run ends exactly where an uninterrupted one does.

GRAPHNET_SOAK_KILLS sets the number of kills (default 8, to fit the test run; 200 for a soak).
"""

import os
import time

import h5py
import numpy as np
import pytest

from graphnet.io.run_dir import PARTIAL, snapshots
from graphnet.io.snapshot import Snapshot

from .runs import graphnet, run, wide_netdef

KILLS = int(os.environ.get("GRAPHNET_SOAK_KILLS", "8"))


def _loss_history(run_dir):
    with h5py.File(os.path.join(run_dir, "statistics.h5"), "r") as f:
        return f["train/loss/iteration"][()], f["train/loss/value"][()]


@pytest.mark.slow
def test_kill_9_at_random_moments_loses_nothing(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=10**7, every=40, hidden=300)
    run_dir = str(tmp_path / "run")
    rng = np.random.default_rng(2026)
    starts = resumed = 0
    for kill in range(KILLS):
        found = snapshots(run_dir)
        newest = found[0][0] if found else None
        leftovers = [n for n in os.listdir(run_dir) if PARTIAL.search(n)] if found else []
        process = graphnet("solve", netdef, *(["--resume"] if found else []))
        # At any moment: start-up, the resume, training, a snapshot or statistics being written.
        time.sleep(rng.uniform(0.0, 1.6))
        process.kill()
        out, err = process.communicate()
        starts += 1
        assert "Traceback" not in err and "warning" not in out, (out, err)
        if "resumed from" in out:  # it got past its start: it went on from the newest snapshot
            resumed += 1
            assert f"snapshot-{newest:08d}.h5 at iteration {newest}" in out, out
            assert not [n for n in leftovers if os.path.exists(os.path.join(run_dir, n))]
        found = snapshots(run_dir)
        if found:
            with Snapshot(found[0][1]) as snap:   # whole, checksum right
                assert snap.iteration == found[0][0]
            iterations, _ = _loss_history(run_dir)
            assert np.array_equal(iterations, np.arange(1, len(iterations) + 1))
            assert len(iterations) >= found[0][0], (len(iterations), found[0][0])
    end = (snapshots(run_dir) or [(0, None)])[0][0] + 25
    code, out, err = run("solve", netdef, "--resume", "--set", f"solver.max_iter={end}")
    assert code == 0, err
    straight = str(tmp_path / "straight")
    code, _, err = run("solve", netdef, "--set", f"solver.max_iter={end}",
                       "--set", f"solver.run_dir={straight}")
    assert code == 0, err
    with Snapshot(snapshots(run_dir)[0][1]) as a, Snapshot(snapshots(straight)[0][1]) as b:
        assert a.iteration == b.iteration == end
        for key in b.params:
            assert np.array_equal(a.params[key], b.params[key]), key
    for got, want in zip(_loss_history(run_dir), _loss_history(straight)):
        assert np.array_equal(got, want)
    print(f"soak: {KILLS} kills, {resumed} resumed runs, ended at iteration {end}, "
          f"{len(snapshots(run_dir))} snapshots")
