"""The character model end to end: the data recipe, training, exact resume, sampling."""

import h5py
import numpy as np
import pytest

from graphnet import GraphnetError
from graphnet.cli import main
from graphnet.datasets.shakespeare import prepare, read_alphabet, split

PLAY = """THE TRAGEDY OF XOR

ACT I.

ROMEO.
To be, or not to be, that is the question.

JULIET.
Wherefore art thou Romeo? Deny thy father.

ROMEO.
Shall I compare thee to a summer's day?
"""

TINY = """\
name: tiny
seed: 2
layers:
  - {{name: text, type: SequenceData, tops: [chars, next, cont], source: {data}/train.h5,
     seq_len: 8, batch_size: 4, phase: train}}
  - {{name: text, type: SequenceData, tops: [chars, next, cont], source: {data}/val.h5,
     seq_len: 8, batch_size: 2, phase: test}}
  - {{name: embed, type: Embed, bottoms: [chars], tops: [e], input_dim: {alphabet}, output_dim: 8}}
  - {{name: lstm1, type: LSTM, bottoms: [e, cont], tops: [h1], output_dim: 16}}
  - {{name: lstm2, type: LSTM, bottoms: [h1, cont], tops: [h2], output_dim: 16}}
  - {{name: scores, type: InnerProduct, bottoms: [h2], tops: [scores], output_dim: {alphabet}, axis: 2}}
  - {{name: loss, type: SoftmaxLoss, bottoms: [scores, next], axis: 2}}
solver:
  method: adam
  lr_policy: 0.01
  clip_gradients: 5
  max_iter: {max_iter}
  run_dir: {run_dir}
coffee_breaks:
  - {{type: ValidationPerformance, every_n_iter: 3}}
  - {{type: Snapshot, every_n_iter: 5}}
"""


@pytest.fixture
def texts(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a_play.txt").write_text(PLAY * 6)
    (folder / "b_play.txt").write_text(PLAY.replace("ROMEO", "HAMLET") * 4)
    (folder / "notes.md").write_text("not a text")
    return folder


def tiny_netdef(tmp_path, texts, max_iter, run_dir):
    data = tmp_path / "data"
    prepare(str(data), str(texts))
    path = tmp_path / f"tiny_{max_iter}_{run_dir.name}.yaml"
    path.write_text(TINY.format(data=data, alphabet=len(read_alphabet(data / "train.h5")),
                                max_iter=max_iter, run_dir=run_dir))
    return str(path)


def test_texts_become_character_indices_with_a_held_out_tail(texts, tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["data", "shakespeare", "--from", str(texts), "--out", str(out)]) == 0
    assert "from 2 works" in capsys.readouterr().out
    alphabet = read_alphabet(out / "train.h5")
    assert alphabet == "".join(sorted(set(PLAY)))
    decoded = {}
    for part in ("train", "val"):
        with h5py.File(out / f"{part}.h5") as f:
            chars, cont = f["chars"][()], f["cont"][()]
            assert list(f.attrs["works"]) == ["a_play.txt", "b_play.txt"]
        text = "".join(alphabet[i] for i in chars)
        starts = np.flatnonzero(cont == 0)
        assert len(starts) == 2 and starts[0] == 0
        decoded[part] = text[:starts[1]], text[starts[1]:]
    for k, play in enumerate((PLAY * 6, PLAY.replace("ROMEO", "HAMLET") * 4)):
        head, tail = decoded["train"][k], decoded["val"][k]
        assert head + tail == play and head.endswith("\n")
        assert 0.04 < len(tail) / len(play) < 0.1


def test_split_cuts_at_the_line_break_before_the_fraction():
    head, tail = split("one\ntwo\nthree\nfour\n", 0.3)
    assert (head, tail) == ("one\ntwo\n", "three\nfour\n")


@pytest.mark.parametrize("make, message", [
    (lambda d: None, r"texts: no such folder"),
    (lambda d: d.mkdir(), r"texts: holds no \.txt files"),
    (lambda d: (d.mkdir(), (d / "x.txt").write_bytes(b"\xff\xfe bad")), r"x\.txt: is not UTF-8 text"),
])
def test_bad_sources_are_named(tmp_path, capsys, make, message):
    make(tmp_path / "texts")
    assert main(["data", "shakespeare", "--from", str(tmp_path / "texts"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert __import__("re").search(message, err), err


def test_a_resume_in_the_middle_of_a_sequence_is_exact(texts, tmp_path):
    straight = tiny_netdef(tmp_path, texts, 17, tmp_path / "straight")
    assert main(["solve", straight]) == 0
    stopped = tiny_netdef(tmp_path, texts, 10, tmp_path / "split")
    assert main(["solve", stopped]) == 0
    (tmp_path / "split" / "snapshot-00000010.h5").unlink()
    with h5py.File(tmp_path / "split" / "snapshot-00000005.h5") as f:  # mid-window stream, carried state
        assert f["layers/train/text"].attrs["position"] > 0
        assert np.abs(f["layers/train/lstm2/hidden"][()]).max() > 0.01
        assert np.abs(f["layers/test/lstm2/cell"][()]).max() > 0.01     # validated at 3
    resumed = tiny_netdef(tmp_path, texts, 17, tmp_path / "split")
    assert main(["solve", resumed, "--resume"]) == 0
    with h5py.File(tmp_path / "straight" / "snapshot-00000017.h5") as a, \
            h5py.File(tmp_path / "split" / "snapshot-00000017.h5") as b:
        for group in ("params", "layers/train/lstm1", "layers/train/lstm2", "layers/test/lstm2"):
            names = []
            a[group].visit(names.append)
            for name in names:
                if isinstance(a[group][name], h5py.Dataset):
                    assert np.array_equal(a[group][name][()], b[group][name][()]), f"{group}/{name}"
        assert a["layers/train/text"].attrs["position"] == b["layers/train/text"].attrs["position"]
    with h5py.File(tmp_path / "split" / "statistics.h5") as f:
        assert list(f["val/loss/iteration"][()]) == [3, 6, 9, 12, 15]


def test_the_tiny_model_learns_and_samples_in_its_alphabet(texts, tmp_path, capsys):
    netdef = tiny_netdef(tmp_path, texts, 300, tmp_path / "run")
    assert main(["solve", netdef, "--set", "coffee_breaks=[{type: ValidationPerformance, "
                 "every_n_iter: 300}, {type: Snapshot, every_n_iter: 300}]"]) == 0
    with h5py.File(tmp_path / "run" / "statistics.h5") as f:
        train_loss = f["train/loss/value"][()]
        val_loss = f["val/loss/value"][-1]
    alphabet = read_alphabet(tmp_path / "data" / "train.h5")
    assert train_loss[:5].mean() > 0.8 * np.log(len(alphabet))   # starts near a uniform guess
    assert val_loss < 1.0, val_loss                              # the text repeats: learnable
    capsys.readouterr()
    snapshot = str(tmp_path / "run" / "snapshot-00000300.h5")
    args = ["sample", netdef, "--snapshot", snapshot, "--prime", "ROMEO.\\n", "--length", "80"]
    texts_out = []
    for extra in (["--seed", "3"], ["--seed", "3"], ["--temperature", "0"], ["--temperature", "0"]):
        assert main(args + extra) == 0
        texts_out.append(capsys.readouterr().out[:-1])
    for text in texts_out:
        assert text.startswith("ROMEO.\n") and len(text) == 7 + 80 and set(text) <= set(alphabet)
    assert texts_out[0] == texts_out[1] and texts_out[2] == texts_out[3]
    assert "the question" in texts_out[2] or "thou" in texts_out[2] or "summer" in texts_out[2], texts_out[2]
    assert main(args[:-4] + ["--length", "10"]) == 0          # the newest snapshot of the run
    assert len(capsys.readouterr().out) == 1 + 10 + 1


@pytest.mark.parametrize("extra, message", [
    (["--prime", "ROMEO%"], r"--prime: '%' is not in the model's alphabet"),
    (["--temperature", "-1"], r"--temperature: must be 0 \(the likeliest character\) or more, got -1"),
    (["--snapshot", "missing.h5"], r"missing\.h5: no such snapshot file"),
])
def test_sample_mistakes_are_one_line(texts, tmp_path, capsys, extra, message):
    netdef = tiny_netdef(tmp_path, texts, 5, tmp_path / "run")
    assert main(["solve", netdef]) == 0
    capsys.readouterr()
    assert main(["sample", netdef, *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and __import__("re").search(message, err), err


def test_sample_with_more_scores_than_characters_is_one_line(texts, tmp_path, capsys):
    netdef = tiny_netdef(tmp_path, texts, 5, tmp_path / "run")
    wide = ["--set", "layers.scores.output_dim=90", "--set", "layers.embed.input_dim=90"]
    assert main(["solve", netdef, *wide]) == 0
    capsys.readouterr()
    assert main(["sample", netdef, *wide, "--length", "50"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "the net scores 90 characters, but the alphabet" in err, err


def test_sample_without_a_snapshot_says_to_train_first(texts, tmp_path, capsys):
    netdef = tiny_netdef(tmp_path, texts, 5, tmp_path / "never")
    assert main(["sample", netdef]) == 2
    assert "no snapshot in" in capsys.readouterr().err


def test_sample_needs_a_sequence_net(capsys):
    assert main(["sample", "netdefs/xor.yaml", "--snapshot", "x.h5"]) == 2
    assert "needs a net fed by a SequenceData layer" in capsys.readouterr().err


def test_the_package_recipe_feeds_the_shakespeare_netdef(tmp_path, capsys):
    out = tmp_path / "shakespeare"
    assert main(["data", "shakespeare", "--out", str(out)]) == 0
    assert "from 42 works; alphabet of 84 characters" in capsys.readouterr().out
    with h5py.File(out / "train.h5") as f:
        assert 4_500_000 < len(f["chars"]) < 5_000_000
        assert "hamlet_gut.txt" in list(f.attrs["works"])
        assert not any(w.endswith("_gut_f.txt") for w in f.attrs["works"])
    assert main(["data", "shakespeare", "--out", str(out)]) == 0
    assert "nothing to do" in capsys.readouterr().out
    netdef = tmp_path / "shakespeare.yaml"
    netdef.write_text(open("netdefs/shakespeare.yaml").read().replace("data/shakespeare", str(out)))
    assert main(["solve", str(netdef), "--set", "solver.max_iter=3", "--set", f"solver.run_dir={tmp_path}/run",
                 "--set", "coffee_breaks=[]"]) == 0


def test_time_counts_the_steps_of_every_stream(texts, tmp_path, capsys):
    netdef = tiny_netdef(tmp_path, texts, 5, tmp_path / "run")
    assert main(["time", netdef, "--iterations", "2"]) == 0
    out = capsys.readouterr().out
    assert "batch 32," in out and "steps per second" in out   # 8 steps x 4 streams


@pytest.mark.parametrize("make, words", [(lambda p: None, "no such folder"),
                                         (lambda p: p.write_text("x"), "is not a folder")])
def test_a_bad_from_is_refused_even_when_the_data_is_there(texts, tmp_path, capsys, make, words):
    prepare(str(tmp_path / "data"), str(texts))
    make(tmp_path / "plays")
    assert main(["data", "shakespeare", "--from", str(tmp_path / "plays"), "--out", str(tmp_path / "data")]) == 2
    assert capsys.readouterr() == ("", f"--from: {tmp_path / 'plays'}: {words}\n")
