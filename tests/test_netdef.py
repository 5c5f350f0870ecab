"""Netdef files: every mistake is one GraphnetError naming the file, the line, the layer and the field."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.cli import main
from graphnet.layers import InnerProduct, MemoryData
from graphnet.netdef import load_netdef

HEAD = """\
name: t
layers:
  - {name: data, type: MemoryData, tops: [x, y], batch_size: 4, source: parity}
  - {name: hid, type: InnerProduct, bottoms: [x], tops: [h], output_dim: 4}
"""

# name: (text after HEAD, words the message must hold). The mistake is always on line 5.
MISTAKES = {
    "unknown type": ("  - {name: out, type: InnerProdcut, bottoms: [h], tops: [p], output_dim: 1}",
                     ["layer 'out'", "type", "unknown layer type 'InnerProdcut'",
                      "did you mean 'InnerProduct'"]),
    "missing top": ("  - {name: out, type: InnerProduct, bottoms: [h], output_dim: 1}",
                    ["layer 'out'", "tops", "takes exactly 1, got 0"]),
    "duplicate top": ("  - {name: out, type: InnerProduct, bottoms: [x], tops: [h], output_dim: 1}",
                      ["layer 'out'", "tops", "top 'h' is already produced by layer 'hid'"]),
    "bottom never produced": ("  - {name: out, type: InnerProduct, bottoms: [hh], tops: [p], output_dim: 1}",
                              ["layer 'out'", "bottoms", "bottom 'hh' is not produced by any layer",
                               "did you mean 'h'"]),
    "cycle": ("  - {name: out, type: InnerProduct, bottoms: [q], tops: [p], output_dim: 1}\n"
              "  - {name: back, type: InnerProduct, bottoms: [p], tops: [q], output_dim: 1}",
              ["layer 'out'", "bottoms", "cycle", "'out' -> 'back'"]),
    "shape mismatch": ("  - {name: add, type: ElementWise, operation: add, bottoms: [h, x], tops: [s]}",
                       ["layer 'add'", "bottoms", "(4, 4)", "(4, 3)"]),
    "negative size": ("  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: -1}",
                      ["layer 'out'", "output_dim", "must be >= 1, got -1"]),
    "wrong type": ("  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: one}",
                   ["layer 'out'", "output_dim", "must be an integer, got 'one'"]),
    "unknown field": ("  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], outputdim: 1}",
                      ["layer 'out'", "outputdim", "unknown field", "did you mean 'output_dim'"]),
    "duplicate key": ("  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1, output_dim: 2}",
                      ["key 'output_dim' appears twice"]),
    "duplicate layer name": ("  - {name: hid, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1}",
                             ["layer 'hid'", "name", "another layer has this name (line 4)"]),
    "missing name": ("  - {type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1}",
                     ["layer #3", "name", "required field is missing"]),
    "missing type": ("  - {name: out, bottoms: [h], tops: [p], output_dim: 1}",
                     ["layer 'out'", "type", "required field is missing"]),
    "bad neuron": ("  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1, neuron: rleu}",
                   ["layer 'out'", "neuron", "unknown neuron 'rleu'", "did you mean 'relu'"]),
    "bad filler field": ("  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1,"
                         " weight_filler: {type: gaussian, stdev: 1}}",
                         ["layer 'out'", "weight_filler", "stdev", "did you mean 'std'"]),
    "unknown param": ("  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1,"
                      " param: {wieght: {lr_mult: 2}}}",
                      ["layer 'out'", "param", "no parameter 'wieght'", "did you mean 'weight'"]),
    "not a mapping": ("  - [out, InnerProduct]", ["layer #3", "must be a mapping with name and type"]),
}


def write(tmp_path, text, name="net.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("case", sorted(MISTAKES))
def test_each_mistake_names_file_line_layer_and_field(tmp_path, case, capsys):
    body, words = MISTAKES[case]
    path = write(tmp_path, HEAD + body + "\n")
    with pytest.raises(GraphnetError) as err:
        Net.from_yaml(path)
    message = str(err.value)
    assert message.startswith(f"{path}:5: "), message
    for word in words:
        assert word in message, message
    # The command prints that one line, no traceback, and exits 2.
    assert main(["info", path]) == 2
    out, errors = capsys.readouterr()
    assert out == "" and errors == message + "\n"


@pytest.mark.parametrize("text, words", [
    ("", ["file is empty"]),
    ("   \n# only a comment\n", ["file is empty"]),
    ("\x00\x01 not yaml: [", ["not valid YAML"]),
    ("layers: [\n  {name: a,\n", ["not valid YAML"]),
    ("just some words\n", [":1:", "must be a mapping with 'layers:'", "got str"]),
    ("- a\n- b\n", ["must be a mapping", "got list"]),
    ("name: t\n", ["layers", "required key is missing"]),
    ("name: t\nlayers: []\n", [":2:", "layers", "non-empty list"]),
    ("name: t\nlayrs: []\n", [":2:", "unknown top-level key 'layrs'", "did you mean 'layers'"]),
    ("name: t\nseed: -1\n" + HEAD[8:], [":2:", "seed", ">= 0"]),
    ("name: t\nbackend: torch\n" + HEAD[8:], [":2:", "backend", "numpy or cupy"]),
])
def test_file_level_mistakes(tmp_path, text, words, capsys):
    path = write(tmp_path, text)
    with pytest.raises(GraphnetError) as err:
        load_netdef(path)
    message = str(err.value)
    assert message.startswith(path + ":"), message
    for word in words:
        assert word in message, message
    assert main(["info", path]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_missing_file(capsys):
    assert main(["info", "no/such/file.yaml"]) == 2
    assert capsys.readouterr().err == "no/such/file.yaml: cannot read netdef: No such file or directory\n"


def test_console_script_prints_one_line_without_traceback(tmp_path):
    path = write(tmp_path, HEAD + MISTAKES["negative size"][0] + "\n")
    done = subprocess.run([sys.executable, "-m", "graphnet", "info", path], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == [f"{path}:5: layer 'out': output_dim: must be >= 1, got -1"]


def test_scientific_numbers_are_numbers_and_merge_keys_work(tmp_path):
    path = write(tmp_path, textwrap.dedent("""\
        name: t
        defaults: &ip {type: InnerProduct, output_dim: 3, weight_filler: {type: gaussian, std: 1e-2}}
        layers:
          - {name: data, type: MemoryData, tops: [x, y], batch_size: 4, source: parity}
          - {<<: *ip, name: hid, bottoms: [x], tops: [h]}
          - {<<: *ip, name: out, bottoms: [h], tops: [p], output_dim: 1}
        """).replace("defaults:", "solver:"))
    netdef = load_netdef(path)
    hid, out = netdef.layers[1], netdef.layers[2]
    assert hid.weight_filler.std == 0.01 and isinstance(netdef.solver["weight_filler"]["std"], float)
    assert (hid.output_dim, out.output_dim) == (3, 1)


def test_include_merges_layers_by_name_and_overrides_set_values(tmp_path):
    write(tmp_path, HEAD + "  - {name: out, type: InnerProduct, bottoms: [h], tops: [p], output_dim: 1}\n",
          "base.yaml")
    path = write(tmp_path, textwrap.dedent("""\
        include: [base.yaml]
        name: child
        layers:
          - {name: hid, output_dim: 7, neuron: relu}
          - {name: extra, type: InnerProduct, bottoms: [h], tops: [e], output_dim: 2}
        """))
    netdef = load_netdef(path, ["layers.extra.output_dim=5", "seed=3", "solver.base_lr=1e-3"])
    assert netdef.name == "child" and netdef.seed == 3 and netdef.solver == {"base_lr": 0.001}
    assert [l.name for l in netdef.layers] == ["data", "hid", "out", "extra"]
    assert (netdef.layers[1].output_dim, netdef.layers[1].neuron.type) == (7, "relu")
    assert netdef.layers[1].bottoms == ["x"] and netdef.layers[3].output_dim == 5


@pytest.mark.parametrize("override, words", [
    ("layers.hdi.output_dim=3", ["--set layers.hdi.output_dim=3", "no layer 'hdi'", "did you mean 'hid'"]),
    ("layers.hid.output_dim=-2", [":4: layer 'hid': output_dim: must be >= 1"]),
    ("solver", ["expected key=value"]),
    ("slover.base_lr=1", ["unknown top-level key 'slover'", "did you mean 'solver'"]),
    ("name.x=1", ["'name' is 't', not a mapping"]),
])
def test_override_mistakes(tmp_path, override, words):
    path = write(tmp_path, HEAD)
    with pytest.raises(GraphnetError) as err:
        Net.from_yaml(path, overrides=[override])
    for word in words:
        assert word in str(err.value), str(err.value)


@pytest.mark.parametrize("include, shown", [("3", "3"), ("{a: b.yaml}", "{'a': 'b.yaml'}"),
                                           ("[a.yaml, [b.yaml]]", "['a.yaml', ['b.yaml']]")])
def test_include_must_name_files(tmp_path, include, shown):
    path = write(tmp_path, f"include: {include}\n" + HEAD)
    with pytest.raises(GraphnetError) as err:
        load_netdef(path)
    assert str(err.value) == f"{path}:1: include: must be a file name or a list of them, got {shown}"


def test_include_loop_is_an_error(tmp_path):
    write(tmp_path, "include: [b.yaml]\n" + HEAD, "a.yaml")
    path = write(tmp_path, "include: [a.yaml]\n" + HEAD, "b.yaml")
    with pytest.raises(GraphnetError, match="includes itself"):
        load_netdef(path)


def test_yaml_and_python_nets_have_equal_specs_and_identical_outputs():
    from graphnet.layers import BinaryAccuracy, BinaryCrossEntropyLoss
    from_yaml = Net.from_yaml("netdefs/xor.yaml")
    in_python = Net("xor", [
        MemoryData(name="data", tops=["x", "y"], batch_size=1024, phase="train",
                   source={"type": "parity", "n": 1024, "bits": 3, "noise": 0.1, "seed": 1}),
        MemoryData(name="data", tops=["x", "y"], batch_size=512, phase="test",
                   source={"type": "parity", "n": 512, "bits": 3, "noise": 0.1, "seed": 2}),
        InnerProduct(name="hid", bottoms=["x"], tops=["h"], output_dim=4, bias=False, neuron="sigmoid"),
        InnerProduct(name="out", bottoms=["h"], tops=["p"], output_dim=1, bias=False, neuron="sigmoid"),
        BinaryCrossEntropyLoss(name="loss", bottoms=["p", "y"]),
        BinaryAccuracy(name="accuracy", bottoms=["p", "y"], phase="test"),
    ], seed=1)
    netdef = load_netdef("netdefs/xor.yaml")
    python_specs = [l.spec for l in in_python.layers]
    assert [l.spec for l in from_yaml.layers] == python_specs
    written = [type(l).__name__ for l in in_python.layers if type(l).__name__ != "Split"]
    assert [type(l).__name__ for l in netdef.layers if l.phase != "test"] == written
    for _ in range(3):
        assert from_yaml.forward_backward() == in_python.forward_backward()
        for name in from_yaml.blobs:
            assert np.array_equal(from_yaml.blobs[name].data, in_python.blobs[name].data)
        assert np.array_equal(from_yaml.param_diff, in_python.param_diff)


def test_info_prints_the_table(capsys):
    assert main(["info", "netdefs/xor.yaml"]) == 0
    out = capsys.readouterr().out
    assert "net 'xor', phase train, numpy float32" in out
    for row in (["hid", "InnerProduct +sigmoid", "x", "h", "(1024, 4)", "12"],
                ["out", "InnerProduct +sigmoid", "h", "p", "(1024, 1)", "4"],
                ["total", "16"]):
        assert any(all(word in line for word in row) for line in out.splitlines()), row
    assert main(["info", "netdefs/xor.yaml", "--phase", "test"]) == 0
    assert "(512, 4)" in capsys.readouterr().out


def test_time_prints_per_layer_milliseconds(capsys):
    assert main(["time", "netdefs/xor.yaml", "--iterations", "3"]) == 0
    out = capsys.readouterr().out
    assert "forward ms" in out and "backward ms" in out and "images per second" in out
    assert any(line.startswith("hid ") and "InnerProduct" in line for line in out.splitlines())


# Block-style layers, one field a line: a mistake in a field is on that field's line, not the
# layer's (a flow mapping has both on one line, so MISTAKES cannot tell them apart).
BLOCK_HEAD = """\
name: t
layers:
  - name: data
    type: MemoryData
    tops: [x, y]
    batch_size: 4
    source: parity
  - name: hid
    type: InnerProduct
    bottoms: [x]
    tops: [h]
    output_dim: 4
  - name: out
"""

# name: (the fields of layer 'out', one a line from line 14; the line the message names; the
# message). Each wrong field is put away from the layer's first line.
BLOCK_MISTAKES = {
    "bad value": (["type: InnerProduct", "bottoms: [h]", "tops: [p]", "output_dim: -1"], 17,
                  "layer 'out': output_dim: must be >= 1, got -1"),
    "wrong type": (["type: InnerProduct", "bottoms: [h]", "output_dim: one", "tops: [p]"], 16,
                   "layer 'out': output_dim: must be an integer, got 'one'"),
    "unknown field": (["type: InnerProduct", "bottoms: [h]", "tops: [p]", "outputdim: 1"], 17,
                      "layer 'out': outputdim: unknown field for layer type InnerProduct "
                      "(did you mean 'output_dim'?)"),
    "unknown type": (["bottoms: [h]", "type: InnerProdcut", "tops: [p]", "output_dim: 1"], 15,
                     "layer 'out': type: unknown layer type 'InnerProdcut' (did you mean 'InnerProduct'?)"),
    "bad neuron": (["type: InnerProduct", "bottoms: [h]", "tops: [p]", "output_dim: 1", "neuron: rleu"], 18,
                   "layer 'out': neuron: unknown neuron 'rleu' (did you mean 'relu'?); known: "),
    "bottom never produced": (["type: InnerProduct", "tops: [p]", "bottoms: [hh]", "output_dim: 1"], 16,
                              "layer 'out': bottoms: bottom 'hh' is not produced by any layer "
                              "(did you mean 'h'?)"),
    "too many bottoms": (["type: InnerProduct", "tops: [p]", "output_dim: 1", "bottoms: [h, x]"], 17,
                         "layer 'out': bottoms: InnerProduct takes exactly 1, got 2"),
    "top already produced": (["type: InnerProduct", "bottoms: [x]", "output_dim: 1", "tops: [h]"], 17,
                             "layer 'out': tops: top 'h' is already produced by layer 'hid'"),
    "shape mismatch": (["type: ElementWise", "operation: add", "tops: [s]", "bottoms: [h, x]"], 17,
                       "layer 'out': bottoms: "),
    "unknown param": (["type: InnerProduct", "bottoms: [h]", "tops: [p]", "output_dim: 1",
                       "param: {wieght: {lr_mult: 2}}"], 18,
                      "layer 'out': param: InnerProduct has no parameter 'wieght' (did you mean 'weight'?)"),
    "filler that cannot fill": (["type: InnerProduct", "bottoms: [h]", "tops: [p]", "output_dim: 1",
                                 "bias_filler: orthogonal"], 18, "layer 'out': bias_filler: "),
    "missing field: the layer's line": (["type: InnerProduct", "bottoms: [h]", "tops: [p]"], 13,
                                        "layer 'out': output_dim: required field is missing"),
}


@pytest.mark.parametrize("case", sorted(BLOCK_MISTAKES))
def test_a_field_mistake_names_the_line_of_the_field(tmp_path, case, capsys):
    fields, line, expected = BLOCK_MISTAKES[case]
    path = write(tmp_path, BLOCK_HEAD + "".join(f"    {field}\n" for field in fields))
    assert main(["info", path]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert err.startswith(f"{path}:{line}: {expected}"), err
