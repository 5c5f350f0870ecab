"""Damaged snapshots: bytes overwritten or cut off in real snapshot files are found, named in one
line, and never loaded; --resume goes back to the newest snapshot that is whole."""

import os

import h5py
import numpy as np
import pytest

from graphnet import GraphnetError
from graphnet.io.snapshot import Snapshot

from .runs import run, wide_netdef


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A finished run with snapshots at 10, 20, 30 and 40, kept pristine: each test damages copies."""
    folder = tmp_path_factory.mktemp("trained")
    netdef = wide_netdef(folder, max_iter=40)
    code, out, err = run("solve", netdef)
    assert code == 0, err
    return folder


def _copy_run(trained, tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=60)
    os.makedirs(tmp_path / "run")
    for name in os.listdir(trained / "run"):
        if name.endswith(".h5"):
            (tmp_path / "run" / name).write_bytes((trained / "run" / name).read_bytes())
    return netdef, tmp_path / "run"


def _garbage_mid_file(path):
    size = os.path.getsize(path)
    assert size > 200_000
    with open(path, "r+b") as f:
        f.seek(size // 2 - 50_000)
        f.write(np.random.default_rng(1).bytes(100_000))


def _cut_tail(path):
    os.truncate(path, os.path.getsize(path) - 8192)


def _flip_a_weight(path):
    with h5py.File(path, "r") as f:
        offset = f["params/hid/weight"].id.get_offset()
    with open(path, "r+b") as f:
        f.seek(offset + 4000)
        byte = f.read(1)
        f.seek(offset + 4000)
        f.write(bytes([byte[0] ^ 0x10]))


DAMAGES = {"100 KB of garbage mid-file": _garbage_mid_file, "8 KB cut off the tail": _cut_tail,
           "one bit of a weight flipped": _flip_a_weight}


@pytest.mark.parametrize("damage", DAMAGES)
def test_resume_names_a_damaged_newest_snapshot_and_goes_on_from_the_one_before(trained, tmp_path,
                                                                                 damage):
    netdef, run_dir = _copy_run(trained, tmp_path)
    newest = run_dir / "snapshot-00000040.h5"
    DAMAGES[damage](newest)
    code, out, err = run("solve", netdef, "--resume")
    assert code == 0, err
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"warning: {newest}: is damaged")
    assert lines[0].endswith("; trying the snapshot before it")
    assert f"resumed from {run_dir / 'snapshot-00000030.h5'} at iteration 30" in lines
    assert "Traceback" not in out
    # The damaged file is kept aside, not deleted; the run went on to 60 past it.
    aside = [n for n in os.listdir(run_dir) if n.startswith("previous-")]
    assert os.listdir(run_dir / aside[0]) == ["snapshot-00000040.h5"]
    with Snapshot(run_dir / "snapshot-00000060.h5") as snap:
        assert snap.iteration == 60


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_snapshot_given_by_path_is_one_line(trained, tmp_path, damage):
    netdef, run_dir = _copy_run(trained, tmp_path)
    path = run_dir / "snapshot-00000040.h5"
    DAMAGES[damage](path)
    with pytest.raises(GraphnetError, match=f"^{path}: is damaged"):
        Snapshot(path)
    for args in (["solve", netdef, "--resume", str(path)], ["test", netdef, "--weights", str(path)],
                 ["solve", netdef, "--weights", str(path), "--fresh"]):
        code, out, err = run(*args)
        assert code == 2
        assert err.startswith(f"{path}: is damaged") and err.count("\n") == 1, err


def test_a_snapshot_changed_inside_its_parameters_says_its_checksum_does_not_match(trained, tmp_path):
    netdef, run_dir = _copy_run(trained, tmp_path)
    path = run_dir / "snapshot-00000020.h5"
    _flip_a_weight(path)
    with pytest.raises(GraphnetError) as err:
        Snapshot(path)
    assert str(err.value) == f"{path}: is damaged: its contents do not match its checksum"


def test_when_every_snapshot_is_damaged_resume_is_one_line(trained, tmp_path):
    netdef, run_dir = _copy_run(trained, tmp_path)
    for iteration in (10, 20, 30, 40):
        _cut_tail(run_dir / f"snapshot-{iteration:08d}.h5")
    code, out, err = run("solve", netdef, "--resume")
    assert code == 2
    assert out.count("warning: ") == 4
    assert err == (f"{run_dir}: has no usable snapshot to resume from: all 4 are damaged "
                   "(see the warnings above)\n")


def test_an_undamaged_snapshot_verifies_and_holds_everything(trained):
    with Snapshot(trained / "run" / "snapshot-00000040.h5") as snap:
        assert snap.iteration == 40 and snap.finite()
        assert set(snap.params) == {"hid/weight", "hid/bias", "out/weight", "out/bias"}
    with h5py.File(trained / "run" / "snapshot-00000040.h5") as f:
        assert f.attrs["checksum"].startswith("sha256:") and f.attrs["version"] == 2
