"""Messages about data files: the netdef's file and line, the layer and field, then the data
file, in one line through the command; a relative source that is missing says where it
was looked up and how to make it."""

import textwrap

import h5py
import numpy as np
import pytest

from graphnet.cli import main
from graphnet.errors import GraphnetError


def netdef(tmp_path, layer, *more):
    """A netdef whose line 4 is the data layer `layer` (a flow mapping), then a small layer
    that reads its first top, then `more` layers."""
    path = tmp_path / "net.yaml"
    path.write_text(textwrap.dedent(f"""\
        # a net that reads a file
        name: t
        layers:
          - {layer}
          - {{name: ip, type: InnerProduct, bottoms: [data], tops: [ip], output_dim: 2}}
        """) + "".join(f"  - {entry}\n" for entry in more))
    return str(path)


def hdf5_layer(source, **fields):
    extra = "".join(f", {key}: {value}" for key, value in fields.items())
    return f"{{name: d, type: HDF5Data, tops: [data, label], source: {source}, batch_size: 2{extra}}}"


def write_h5(path, **datasets):
    with h5py.File(path, "w") as f:
        for name, value in datasets.items():
            f.create_dataset(name, data=value)
    return str(path)


def error_of(capsys, *argv):
    """The command's stderr, which must be one line, and its exit status 2."""
    assert main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    return err[:-1]


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """Run from a folder that holds no data/."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


def test_a_missing_mnist_list_names_the_netdef_line_then_the_file_and_the_recipe(tmp_path, elsewhere, capsys):
    path = netdef(tmp_path, hdf5_layer("data/mnist/train.txt"))
    assert error_of(capsys, "info", path) == (
        f"{path}:4: layer 'd': source: data/mnist/train.txt: no such file (looked up from "
        f"{elsewhere}; run graphnet from the folder that holds data/, or prepare it with "
        f"'graphnet data mnist')")


def test_a_missing_shakespeare_file_suggests_its_recipe(tmp_path, elsewhere, capsys):
    layer = ("{name: d, type: SequenceData, tops: [data, next, cont], "
             "source: data/shakespeare/train.h5, seq_len: 5, batch_size: 2}")
    path = netdef(tmp_path, layer)
    assert error_of(capsys, "info", path) == (
        f"{path}:4: layer 'd': source: data/shakespeare/train.h5: no such HDF5 file (looked up "
        f"from {elsewhere}; run graphnet from the folder that holds data/, or prepare it with "
        f"'graphnet data shakespeare')")


def test_a_missing_file_of_our_own_says_only_where_it_was_looked_up(tmp_path, elsewhere, capsys):
    path = netdef(tmp_path, hdf5_layer("mine/train.h5"))
    assert error_of(capsys, "info", path) == (
        f"{path}:4: layer 'd': source: mine/train.h5: no such HDF5 file (looked up from {elsewhere})")


def test_a_missing_absolute_path_needs_no_folder(tmp_path, capsys):
    missing = tmp_path / "data" / "mnist" / "train.h5"
    path = netdef(tmp_path, hdf5_layer(missing))
    assert error_of(capsys, "info", path) == f"{path}:4: layer 'd': source: {missing}: no such HDF5 file"


def test_a_glob_that_matches_nothing(tmp_path, elsewhere, capsys):
    path = netdef(tmp_path, hdf5_layer("'shards/*.h5'"))
    assert error_of(capsys, "info", path) == (
        f"{path}:4: layer 'd': source: shards/*.h5: names no HDF5 file (looked up from {elsewhere})")


def test_a_file_missing_from_a_list_is_the_file_named(tmp_path, elsewhere, capsys):
    (elsewhere / "list.txt").write_text("gone.h5\n")
    path = netdef(tmp_path, hdf5_layer("list.txt"))
    assert error_of(capsys, "info", path) == (
        f"{path}:4: layer 'd': source: gone.h5: no such HDF5 file (looked up from {elsewhere})")


def test_a_list_that_is_not_text(tmp_path, capsys):
    (tmp_path / "list.txt").write_bytes(b"\xff\xfe\x00junk\x80\n")
    path = netdef(tmp_path, hdf5_layer(tmp_path / "list.txt"))
    assert error_of(capsys, "info", path) == (
        f"{path}:4: layer 'd': source: {tmp_path / 'list.txt'}: is not a UTF-8 text file listing HDF5 files")


def test_a_file_without_a_dataset_names_the_netdef_line_not_a_line_of_the_file(tmp_path, capsys):
    data = write_h5(tmp_path / "a.h5", data=np.zeros((4, 3)))
    path = netdef(tmp_path, hdf5_layer(data))
    assert error_of(capsys, "info", path) == (
        f"{path}:4: layer 'd': source: {data}: has no dataset 'label' (it has: data)")


def test_a_file_that_is_not_hdf5(tmp_path, capsys):
    (tmp_path / "junk.h5").write_bytes(b"junk" * 100)
    path = netdef(tmp_path, hdf5_layer(tmp_path / "junk.h5"))
    assert error_of(capsys, "info", path).startswith(
        f"{path}:4: layer 'd': source: {tmp_path / 'junk.h5'}: not a readable HDF5 file (")


def test_a_missing_mean_file_is_the_mean_field(tmp_path, elsewhere, capsys):
    data = write_h5(tmp_path / "a.h5", data=np.zeros((4, 3)), label=np.zeros((4, 1)))
    path = netdef(tmp_path, hdf5_layer(data, mean="m.h5"))
    assert error_of(capsys, "info", path) == (
        f"{path}:4: layer 'd': mean: m.h5: no such HDF5 file (looked up from {elsewhere})")


def test_sample_names_the_netdef_line_of_the_alphabet_file(tmp_path, elsewhere, capsys):
    layer = ("{name: d, type: SequenceData, tops: [data, next, cont], "
             "source: data/shakespeare/val.h5, seq_len: 5, batch_size: 2}")
    path = netdef(tmp_path, layer, "{name: loss, type: SoftmaxLoss, bottoms: [ip, next]}")
    assert error_of(capsys, "sample", path, "--snapshot", "x.h5") == (
        f"{path}:4: layer 'd': source: data/shakespeare/val.h5: no such HDF5 file (looked up "
        f"from {elsewhere}; run graphnet from the folder that holds data/, or prepare it with "
        f"'graphnet data shakespeare')")


def test_a_netdef_line_is_never_put_on_another_file():
    err = GraphnetError("no such snapshot file", file="s.h5").locate(file="net.yaml", line=6, layer="x")
    assert str(err) == "s.h5: layer 'x': no such snapshot file"
