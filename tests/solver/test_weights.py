"""--weights starts a run from another run's parameters: all of them, or, when asked, some."""

import os

from ..runs import run, wide_netdef


def test_weights_of_an_unrelated_net_are_an_error(tmp_path):
    other = tmp_path / "regression"
    assert run("solve", "netdefs/regression.yaml", "--set", f"solver.run_dir={other}",
               "--set", "solver.max_iter=10")[0] == 0
    weights = str(other / "snapshot-00000010.h5")
    netdef = wide_netdef(tmp_path)
    for extra in ([], ["--partial-weights"]):
        code, out, err = run("solve", netdef, "--weights", weights, *extra)
        assert code == 2
        assert err == (f"{weights}: shares no parameter with net 'wide' (it has fit/bias, "
                       "fit/weight; the net has hid/weight, hid/bias, out/weight, out/bias)\n"), err
    assert not (tmp_path / "run").exists() or not list((tmp_path / "run").glob("*.h5"))


def test_weights_that_lack_some_parameters_need_partial_weights_and_say_what_loaded(tmp_path):
    source = wide_netdef(tmp_path, max_iter=10, run_dir=tmp_path / "a", name="a.yaml")
    assert run("solve", source)[0] == 0
    weights = str(tmp_path / "a" / "snapshot-00000010.h5")
    netdef = tmp_path / "b.yaml"
    netdef.write_text(open(source).read().replace("name: out,", "name: head,")
                      .replace(str(tmp_path / "a"), str(tmp_path / "b")))
    code, out, err = run("solve", str(netdef), "--weights", weights)
    assert code == 2
    assert err == (f"{weights}: lacks 2 of the 4 parameters of net 'wide' (head/weight, "
                   "head/bias): give --partial-weights to load the others and start these from "
                   "their fillers\n")
    code, out, err = run("solve", str(netdef), "--weights", weights, "--partial-weights")
    assert code == 0, err
    assert out.splitlines()[0] == (f"weights from {weights}: loaded hid/weight, hid/bias; kept as "
                                   "filled: head/weight, head/bias; not in this net: out/bias, "
                                   "out/weight")
    code, out, err = run("solve", str(netdef), "--partial-weights", "--fresh")
    assert code == 2 and err == "--partial-weights: goes with --weights\n"


def test_fresh_with_weights_from_the_old_run_reads_them_before_moving_it_aside(tmp_path):
    netdef = wide_netdef(tmp_path, max_iter=10)
    assert run("solve", netdef)[0] == 0
    weights = tmp_path / "run" / "snapshot-00000010.h5"
    code, out, err = run("solve", netdef, "--weights", str(weights), "--fresh",
                         "--set", "solver.max_iter=5")
    assert code == 0, err
    assert f"weights from {weights}: loaded hid/weight, hid/bias, out/weight, out/bias" in out
    aside = [n for n in os.listdir(tmp_path / "run") if n.startswith("previous-")]
    assert "snapshot-00000010.h5" in os.listdir(tmp_path / "run" / aside[0])
