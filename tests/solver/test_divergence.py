"""A run that diverges stops with one line that names only a snapshot whose parameters are all
finite, and no NumPy warning before it."""

import os

import h5py
import numpy as np
import pytest

from graphnet.io import snapshot as module
from graphnet.io.run_dir import snapshots
from graphnet.io.snapshot import Snapshot

from ..runs import run, wide_netdef


@pytest.mark.parametrize("lr", [1.0, 1e39])
def test_divergence_is_one_line_naming_a_finite_snapshot(tmp_path, lr):
    netdef = wide_netdef(tmp_path, max_iter=1000, every=1, hidden=50, lr=lr)
    code, out, err = run("solve", netdef)
    assert code == 2, out
    assert err.count("\n") == 1, err      # no RuntimeWarning lines before it
    assert err.startswith("net 'wide': ")
    written = snapshots(tmp_path / "run")
    for _, path in written:  # a snapshot of non-finite parameters is never written
        with Snapshot(path) as snap:
            assert snap.finite()
    if written:
        newest = written[0][1]
        with Snapshot(newest) as snap:
            assert (f"the newest snapshot with finite parameters is {newest} (iteration "
                    f"{snap.iteration}, largest |parameter| {snap.largest():.3g})") in err
    else:
        assert err.endswith("no snapshot with finite parameters was written\n"), err


def test_an_old_snapshot_of_non_finite_parameters_is_never_named_nor_resumed(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=20)
    assert run("solve", netdef)[0] == 0
    # Make snapshot 20 as an older graphnet would have written it after a blow-up: whole and
    # checksummed, with infinite weights.
    path = tmp_path / "run" / "snapshot-00000020.h5"
    with h5py.File(path, "r+") as f:
        f["params/hid/weight"][0, 0] = np.inf
        f.flush()
        f.attrs["checksum"] = module._digest(module._contents(f))
    code, out, err = run("solve", netdef, "--resume", "--set", "solver.max_iter=25")
    assert code == 0, err
    assert out.startswith(f"warning: {path}: holds parameters that are not finite numbers")
    assert f"resumed from {tmp_path / 'run' / 'snapshot-00000010.h5'} at iteration 10" in out
    aside = [n for n in os.listdir(tmp_path / "run") if n.startswith("previous-")]
    assert os.listdir(tmp_path / "run" / aside[0]) == ["snapshot-00000020.h5"]
