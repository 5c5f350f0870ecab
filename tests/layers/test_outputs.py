import h5py
import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import HDF5Output, MemoryData, MemoryOutput
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
