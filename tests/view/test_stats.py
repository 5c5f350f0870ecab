"""graphnet stats: the table's last and best values, and a CSV equal to statistics.h5."""

import csv
import re

import h5py
import numpy as np
import pytest

from graphnet.cli import main

from .fake_runs import fake_run


def test_the_table_shows_last_and_best_of_each_statistic(tmp_path, capsys):
    run = fake_run(tmp_path)
    assert main(["stats", run]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{run}/statistics.h5: up to iteration 300, epoch 3"
    rows = {line.split()[0]: re.split(r"\s{2,}", line.strip()) for line in lines[3:]}
    assert list(rows) == ["train/loss", "val/accuracy", "val/loss", "train/learning_rate"]
    assert rows["train/loss"][0] == "train/loss (mean of 3)"
    with h5py.File(f"{run}/statistics.h5", "r") as f:
        for key, row in rows.items():
            iterations, values = f[key]["iteration"][()], f[key]["value"][()]
            if key == "train/loss":  # one batch's loss is noise: the mean of 1% of the run
                values = np.array([values[max(0, i - 2):i + 1].mean() for i in range(len(values))])
            assert row[1] == str(len(values))
            assert float(row[2]) == pytest.approx(values[-1], rel=1e-5) and row[3] == "300"
            if key == "train/learning_rate":
                assert len(row) == 4  # not a score: no best
                continue
            best = np.argmin(values) if "loss" in key else np.argmax(values)
            assert float(row[4]) == pytest.approx(values[best], rel=1e-5)
            assert int(row[5]) == iterations[best]
    widths = {len(line) for line in lines[1:3]}
    assert len(widths) == 1, "header and rule line up"


def test_the_csv_holds_every_value_exactly(tmp_path, capsys):
    run = fake_run(tmp_path)
    assert main(["stats", run, "--csv", str(tmp_path / "all.csv")]) == 0
    with open(tmp_path / "all.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    assert header == ["iteration", "train/loss", "val/accuracy", "val/loss", "train/epoch",
                      "train/learning_rate"]
    assert [int(r[0]) for r in rows] == list(range(1, 301))
    with h5py.File(f"{run}/statistics.h5", "r") as f:
        for c, key in enumerate(header[1:], start=1):
            written = [(int(r[0]), float(r[c])) for r in rows if r[c] != ""]
            stored = list(zip(f[key]["iteration"][()].tolist(), f[key]["value"][()].tolist()))
            assert written == stored, key


@pytest.mark.parametrize("make, expected", [
    (lambda p: str(p / "nothing"), "no such run directory"),
    (lambda p: (p / "empty").mkdir() or str(p / "empty"), "no statistics.h5 yet"),
    (lambda p: fake_run(p / "r", "previous-20260101-000000") and str(p / "r"),
     "no statistics.h5; runs moved aside are in"),
    (lambda p: (p / "junk.h5").write_bytes(b"not hdf5") and str(p / "junk.h5"), "cannot read it"),
    (lambda p: (p / "net.yaml").write_text("name: x") and str(p / "net.yaml"), "is a file, not a run"),
])
def test_mistakes_are_one_line(tmp_path, capsys, make, expected):
    assert main(["stats", make(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
