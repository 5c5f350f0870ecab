import h5py
import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import HDF5Data, HDF5Output, Input, MemoryData, MemoryOutput, SquareLoss
from tests.helpers import layer_from_yaml


def data_layer():
    x = np.arange(10, dtype=float)[:, None] * [1, 2]
    return MemoryData(name="d", tops=["x", "y"], batch_size=4, data=[x, np.arange(10.0)])


def test_hdf5_output_appends_batches(tmp_path):
    path = str(tmp_path / "sub" / "out.h5")
    assert layer_from_yaml(f"{{name: o, type: HDF5Output, bottoms: [x], file_name: {path}}}") == \
        HDF5Output(name="o", bottoms=["x"], file_name=path)
    net = Net("n", [data_layer(), HDF5Output(name="o", bottoms=["x", "y"], file_name=path,
                                             datasets=["features", "labels"])])
    for _ in range(3):
        net.forward()
    net.layer("o").file.close()
    with h5py.File(path) as f:
        np.testing.assert_array_equal(f["features"][:, 0], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
        np.testing.assert_array_equal(f["labels"][()], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    with pytest.raises(GraphnetError, match="layer 'o': file_name: .*exists; set force_overwrite"):
        Net("n", [data_layer(), HDF5Output(name="o", bottoms=["x"], file_name=path)])
    with pytest.raises(GraphnetError, match=r"layer 'o': datasets: needs one name per bottom \(2\), got 1"):
        HDF5Output(name="o", bottoms=["x", "y"], file_name=path, datasets=["a"])


def test_memory_output_keeps_host_copies():
    net = Net("n", [data_layer(), MemoryOutput(name="m", bottoms=["y"])])
    net.forward()
    net.forward()
    kept = net.layer("m").outputs[0]
    assert len(kept) == 2 and kept[1].tolist() == [4, 5, 6, 7]
    assert kept[0] is not net.blobs["y"].data


def test_hdf5_output_reads_back_through_hdf5_data(tmp_path, backend):
    path = str(tmp_path / "features.h5")
    net = Net("n", [data_layer(), HDF5Output(name="o", bottoms=["x", "y"], file_name=path)], backend=backend)
    for _ in range(5):  # 20 rows: two epochs of the 10 samples
        net.forward()
    with h5py.File(path) as f:  # readable while the net still holds it: flushed every batch
        assert f["x"].maxshape == (None, 2) and f["x"].shape == (20, 2) and f["x"].dtype == np.float32
    net.layer("o").close()
    reader = Net("r", [HDF5Data(name="r", tops=["x", "y"], source=path, batch_size=20)], backend=backend)
    reader.forward()
    x = np.arange(10.0)[:, None] * [1, 2]
    np.testing.assert_array_equal(reader.backend.to_host(reader.blobs["x"].data), np.concatenate([x, x]))
    np.testing.assert_array_equal(reader.backend.to_host(reader.blobs["y"].data), np.tile(np.arange(10.0), 2))


def test_hdf5_output_chunks_are_a_batch_or_about_a_mebibyte(tmp_path):
    path = str(tmp_path / "wide.h5")
    Net("n", [Input(name="i", tops=["small", "wide"], shapes=[[4, 3], [4, 1 << 18]]),
              HDF5Output(name="o", bottoms=["small", "wide"], file_name=path)]).layer("o").close()
    with h5py.File(path) as f:
        assert f["small"].chunks == (4, 3) and f["wide"].chunks == (1, 1 << 18)


def test_force_overwrite_replaces_the_file(tmp_path):
    path = tmp_path / "out.h5"
    path.write_bytes(b"old")
    net = Net("n", [data_layer(), HDF5Output(name="o", bottoms=["y"], file_name=str(path), force_overwrite=True)])
    net.forward()
    net.layer("o").close()
    with h5py.File(path) as f:
        assert list(f) == ["y"] and f["y"][()].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("fields, words", [
    (dict(bottoms=["x", "y"], datasets=["a", "a"]), ["datasets", "writes two datasets of one name: ['a', 'a']"]),
    (dict(bottoms=["x", "x"]), ["bottoms", "writes two datasets of one name"]),
    (dict(bottoms=[], datasets=None), ["bottoms", "takes at least 1, got 0"]),
    (dict(bottoms=["x"], tops=["z"]), ["tops", "takes exactly 0, got 1"]),
])
def test_hdf5_output_mistakes(tmp_path, fields, words):
    with pytest.raises(GraphnetError) as err:
        HDF5Output(name="o", file_name=str(tmp_path / "o.h5"), **fields)
    for word in ["layer 'o'", *words]:
        assert word in str(err.value), str(err.value)


def test_a_scalar_bottom_is_refused_before_any_file_is_made(tmp_path):
    with pytest.raises(GraphnetError, match=r"layer 'o': bottoms: 'loss\w*' is a scalar; it writes batches"):
        Net("n", [Input(name="i", tops=["a", "b"], shapes=[[2, 3], [2, 3]]),
                  SquareLoss(name="loss", bottoms=["a", "b"]),
                  HDF5Output(name="o", bottoms=["loss"], file_name=str(tmp_path / "o.h5"))])
    assert not (tmp_path / "o.h5").exists()


def test_memory_output_keeps_every_bottom_on_the_host(backend):
    net = Net("n", [data_layer(), MemoryOutput(name="m", bottoms=["x", "y"])], backend=backend)
    for _ in range(3):
        net.forward()
    xs, ys = net.layer("m").outputs
    assert all(type(a) is np.ndarray for a in xs + ys)
    np.testing.assert_array_equal(np.concatenate(ys), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1])
    np.testing.assert_array_equal(np.concatenate(xs)[:, 1], np.concatenate(ys) * 2)


def test_a_file_name_below_a_file_is_one_line(tmp_path):
    (tmp_path / "f").write_text("not a folder")
    with pytest.raises(GraphnetError) as err:
        Net("n", [data_layer(), HDF5Output(name="o", bottoms=["x"], file_name=str(tmp_path / "f" / "o.h5"))])
    assert str(err.value).startswith(f"net 'n': layer 'o': file_name: cannot create {tmp_path}/f/o.h5 (")
    assert "\n" not in str(err.value)
