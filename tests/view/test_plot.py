"""graphnet plot: the files it writes (decoded, and the SVG's text read), the panels and the
runs in them, the best point, the epoch axis, a run that is still training, --follow, and
one-line mistakes."""

import os
import signal
import sys
import time
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from graphnet.cli import main
from graphnet.view.run_statistics import smooth

from ..runs import graphnet, wait_for, wide_netdef
from .fake_runs import fake_run

pytest.importorskip("matplotlib")


def svg_texts(path):
    """Every piece of text in an SVG file (which must parse as XML)."""
    root = ET.parse(path).getroot()
    return [t for e in root.iter() if e.tag.endswith("text") for t in e.itertext()]


def test_a_png_of_every_statistic(tmp_path, capsys):
    from matplotlib.image import imread
    run = fake_run(tmp_path)
    assert main(["plot", run]) == 0
    assert capsys.readouterr().out == f"wrote {run}/curves.png (up to iteration 300)\n"
    image = imread(f"{run}/curves.png")
    # Four panels (train/loss, val/accuracy, val/loss, learning rate), each 2.5 in at 110 dpi.
    assert image.shape[1] == 990 and image.shape[0] > 4 * 2.5 * 110
    assert image[..., :3].std() > 0.05  # something is drawn
    assert [n for n in os.listdir(run) if ".tmp" in n] == []


def test_an_svg_names_each_run_and_each_key_asked_for(tmp_path, capsys):
    runs = [fake_run(tmp_path, "sgd", seed=1), fake_run(tmp_path, "adam", iterations=200, seed=2)]
    out = str(tmp_path / "compare.svg")
    assert main(["plot", *runs, "-o", out, "--keys", "train/loss,val/accuracy", "--smooth", "5"]) == 0
    text = " ".join(svg_texts(out))
    for word in ("sgd", "adam", "train/loss", "val/accuracy", "iteration", "epoch",
                 "mean of the last 5 iterations", "sgd: best", "adam: best"):
        assert word in text, word
    assert "val/loss" not in text and "learning_rate" not in text


def test_the_best_validation_point_is_marked_with_its_value(tmp_path):
    run = fake_run(tmp_path)
    import h5py
    with h5py.File(f"{run}/statistics.h5", "r") as f:
        iterations, values = f["val/loss/iteration"][()], f["val/loss/value"][()]
    best = np.argmin(values)
    out = str(tmp_path / "c.svg")
    assert main(["plot", run, "-o", out, "--keys", "val/loss", "--log-y"]) == 0
    assert f"best {values[best]:.4g} at iteration {iterations[best]:,}" in svg_texts(out)


def test_a_pdf(tmp_path):
    run = fake_run(tmp_path)
    assert main(["plot", run, "-o", str(tmp_path / "c.pdf")]) == 0
    assert (tmp_path / "c.pdf").read_bytes()[:5] == b"%PDF-"


def test_no_epoch_axis_without_epochs(tmp_path):
    run = fake_run(tmp_path, epoch_every=10 ** 6)
    assert main(["plot", run, "-o", str(tmp_path / "c.svg")]) == 0
    assert "epoch" not in svg_texts(tmp_path / "c.svg")


def test_smooth_is_the_mean_of_the_last_n():
    values = np.random.default_rng(0).random(50)
    expected = [values[max(0, i - 6):i + 1].mean() for i in range(50)]
    np.testing.assert_allclose(smooth(values, 7), expected)
    assert smooth(values, 1) is values


@pytest.mark.parametrize("argv, expected", [
    (["--keys", "val/acuracy"], "--keys: no statistic 'val/acuracy' in the run (did you mean 'val/accuracy'?)"),
    (["-o", "c.jpg"], "-o: c.jpg: writes .png, .svg, .pdf files, not '.jpg'"),
    (["--smooth", "0"], "--smooth: must be 1 (no smoothing) or more iterations, got 0"),
])
def test_mistakes_are_one_line(tmp_path, capsys, argv, expected):
    assert main(["plot", fake_run(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and err.count("\n") == 1, err


def test_without_matplotlib_one_line_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main(["plot", fake_run(tmp_path)]) == 2
    assert capsys.readouterr().err == "graphnet plot: needs matplotlib: pip install 'graphnet[plot]'\n"


@pytest.mark.slow
def test_plots_a_run_while_it_trains(tmp_path, capsys):
    netdef = wide_netdef(str(tmp_path), max_iter=100000, every=20, hidden=50)
    run = str(tmp_path / "run")
    solve = graphnet("solve", netdef)
    try:
        wait_for(lambda: os.path.exists(f"{run}/statistics.h5"), what="the first statistics")
        drawn = []
        for k in range(8):
            assert main(["plot", run, "-o", str(tmp_path / f"c{k}.png")]) == 0, capsys.readouterr().err
            drawn.append(int(capsys.readouterr().out.split()[-1].rstrip(")").replace(",", "")))
            time.sleep(0.3)
        assert drawn == sorted(drawn) and drawn[-1] > drawn[0], drawn
    finally:
        solve.send_signal(signal.SIGTERM)
        out, err = solve.communicate(timeout=60)
    assert solve.returncode == 0, err
    assert main(["plot", run, "-o", str(tmp_path / "end.svg")]) == 0
    assert "epoch" in svg_texts(tmp_path / "end.svg")  # the solver records where epochs begin


@pytest.mark.slow
def test_follow_redraws_when_the_statistics_change_until_ctrl_c(tmp_path):
    run = fake_run(tmp_path, iterations=100)
    out = tmp_path / "live.png"
    follow = graphnet("plot", run, "--follow", "-o", str(out))
    try:
        wait_for(out.exists, what="the first drawing")
        first = out.stat().st_mtime_ns
        fake_run(tmp_path, iterations=250)
        wait_for(lambda: out.stat().st_mtime_ns != first, what="a new drawing")
    finally:
        follow.send_signal(signal.SIGINT)
        stdout, stderr = follow.communicate(timeout=30)
    assert follow.returncode == 0, stderr
    lines = stdout.splitlines()
    assert lines[0].startswith(f"following {run}:")
    assert lines[1].endswith(f"drew {out} (up to iteration 100)")
    assert lines[2].endswith(f"drew {out} (up to iteration 250)")
    assert lines[-1] == "stopped following"


def test_the_epoch_axis_lines_up_with_the_iterations(tmp_path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from graphnet.view.plot import figure
    from graphnet.view.run_statistics import read_statistics
    run = fake_run(tmp_path, iterations=300, epoch_every=120)  # epochs begin at 120 and 240
    fig = figure([run], [read_statistics(run)], ["train/loss", "val/loss"])
    FigureCanvasAgg(fig).draw()
    top = fig.axes[0]
    epochs = top.child_axes[0]
    for epoch, iteration in ((0, 0), (1, 120), (2, 240), (2.5, 300)):
        at = epochs.transData.transform([(epoch, 0)])[0, 0]
        assert at == pytest.approx(top.transData.transform([(iteration, 0)])[0, 0], abs=0.5), epoch
