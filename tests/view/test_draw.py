"""graphnet draw: the DOT text of every example netdef (every layer and blob named), shapes,
phases, in-place layers folded, splits hidden unless asked, and Graphviz's formats."""

import glob
import os
import shutil
import xml.etree.ElementTree as ET

import pytest

from graphnet.cli import main
from graphnet.netdef import load_netdef
from graphnet.view.draw import _ordered_without_shapes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NETDEFS = sorted(glob.glob(os.path.join(ROOT, "netdefs", "*.yaml")))
needs_graphviz = pytest.mark.skipif(shutil.which("dot") is None,
                                    reason="Graphviz's dot is not installed (apt-get install graphviz)")

IN_PLACE = """\
name: small
layers:
  - {name: data, type: MemoryData, tops: [x, y], batch_size: 8, source: {type: parity, n: 8}}
  - {name: hid, type: InnerProduct, bottoms: [x], tops: [h], output_dim: 5}
  - {name: act, type: ReLU, bottoms: [h], tops: [h]}
  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1, neuron: sigmoid}
  - {name: loss, type: BinaryCrossEntropyLoss, bottoms: [p, y]}
  - {name: acc, type: BinaryAccuracy, bottoms: [p, y], phase: test}
"""


def draw(tmp_path, netdef, *args, name="net.dot"):
    out = str(tmp_path / name)
    assert main(["draw", netdef, "-o", out, *args]) == 0
    return open(out, encoding="utf-8").read() if name.endswith(".dot") else out


@pytest.mark.parametrize("netdef", NETDEFS, ids=os.path.basename)
def test_every_layer_and_blob_of_every_example_is_drawn(tmp_path, monkeypatch, netdef):
    monkeypatch.chdir(ROOT)  # the netdefs name their data relative to the repository
    text = draw(tmp_path, netdef)
    assert text.startswith("digraph") and text.rstrip().endswith("}")
    spec = load_netdef(netdef)
    for phase in ("train", "test"):
        for layer in _ordered_without_shapes(spec, phase):
            if type(layer).__name__ == "Split":
                assert layer.name not in text
                continue
            assert f'"{layer.name}' in text or f"+ {layer.name}: " in text, layer.name
            for blob in layer.bottoms + layer.tops:
                if "_split_" not in blob:
                    assert f'label="{blob}\\n' in text or f'label="{blob}"' in text, blob


def test_edges_carry_blob_shapes_and_phases_are_told_apart(tmp_path):
    text = draw(tmp_path, os.path.join(ROOT, "netdefs", "xor.yaml"), "--phase", "train")
    assert '"data" -> "hid" [label="x\\n1024×3"];' in text
    assert '"hid" -> "out" [label="h\\n1024×4"];' in text
    text = draw(tmp_path, os.path.join(ROOT, "netdefs", "xor.yaml"))
    assert '"hid" -> "out" [label="h\\ntrain: 1024×4\\ntest: 512×4"];' in text
    assert '"data (test)" -> "hid" [label="x\\n512×3", color="#b45f06", style="dashed"];' in text
    path = tmp_path / "small.yaml"
    path.write_text(IN_PLACE)
    both = draw(tmp_path, str(path))
    assert '"acc" [label="acc\\nBinaryAccuracy\\n(test only)"' in both
    assert 'style="rounded,filled,dashed"' in both
    test = draw(tmp_path, str(path), "--phase", "test")
    assert "only" not in test and "test phase" in test and '"acc"' in test
    train = draw(tmp_path, str(path), "--phase", "train")
    assert '"acc"' not in train


def test_in_place_layers_are_folded_and_splits_hidden_unless_asked(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(IN_PLACE)
    text = draw(tmp_path, str(path), "--phase", "test")
    assert '"hid" [label="hid\\nInnerProduct\\noutput_dim 5\\n+ act: ReLU on h"' in text
    assert '"act"' not in text and "Split" not in text
    assert '"out" -> "loss" [label="p\\n8×1"];' in text and '"out" -> "acc" [label="p\\n8×1"];' in text
    shown = draw(tmp_path, str(path), "--phase", "test", "--splits")
    assert '"p_out_0_split" [label="p_out_0_split\\nSplit' in shown
    assert '"out" -> "p_out_0_split" [label="p\\n8×1"];' in shown


def test_a_net_whose_data_is_missing_is_drawn_without_shapes(tmp_path, capsys):
    path = tmp_path / "nodata.yaml"
    path.write_text(IN_PLACE.replace("{name: data, type: MemoryData, tops: [x, y], batch_size: 8, "
                                     "source: {type: parity, n: 8}}",
                                     "{name: data, type: HDF5Data, tops: [x, y], batch_size: 8, "
                                     "source: nowhere.h5}"))
    text = draw(tmp_path, str(path), "--phase", "train")
    assert '"data" -> "hid" [label="x"];' in text
    out = capsys.readouterr().out
    assert out.startswith("train phase drawn without shapes: ") and "nowhere.h5" in out


@needs_graphviz
@pytest.mark.parametrize("netdef", ["mnist.yaml", "shakespeare.yaml"])
def test_graphviz_draws_svg_and_png(tmp_path, monkeypatch, netdef):
    monkeypatch.chdir(ROOT)
    svg = draw(tmp_path, os.path.join("netdefs", netdef), name="net.svg")
    texts = " ".join(t for e in ET.parse(svg).getroot().iter() for t in e.itertext())
    for name in ("conv1", "ip2", "SoftmaxLoss") if netdef == "mnist.yaml" else ("lstm1", "scores", "LSTM"):
        assert name in texts
    png = draw(tmp_path, os.path.join("netdefs", netdef), name="net.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert [n for n in os.listdir(tmp_path) if ".tmp" in n] == []


def test_without_graphviz_one_line_says_how_to_get_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    out = str(tmp_path / "x.svg")
    assert main(["draw", os.path.join(ROOT, "netdefs", "xor.yaml"), "-o", out]) == 2
    err = capsys.readouterr().err
    assert err == (f"-o: {out}: a .svg drawing needs Graphviz's dot program, which is not installed "
                   "(Debian, Ubuntu: apt-get install graphviz); or write a .dot file\n")
    assert not os.path.exists(out)


def test_an_unknown_format_is_one_line(tmp_path, capsys):
    assert main(["draw", os.path.join(ROOT, "netdefs", "xor.yaml"), "-o", "x.gif"]) == 2
    assert capsys.readouterr().err == "-o: x.gif: writes .dot, .svg, .png, .pdf files, not '.gif'\n"
