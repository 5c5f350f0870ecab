import h5py
import numpy as np
import pytest

from graphnet import GraphnetError, Net
from graphnet.layers import SequenceData


def write(path, values, cont=None, name="chars"):
    with h5py.File(path, "w") as f:
        f[name] = values
        if cont is not None:
            f["cont"] = cont
    return str(path)


def data_net(source, seq_len=3, batch_size=2, backend="numpy", **fields):
    layer = SequenceData(name="text", tops=["x", "y", "cont"], source=source, seq_len=seq_len,
                         batch_size=batch_size, **fields)
    return Net("text", [layer], backend=backend)


def serve(net):
    net.forward()
    return [net.backend.to_host(net.blobs[n].data).copy() for n in ("x", "y", "cont")]


def test_streams_are_served_in_order_with_next_values_as_targets(tmp_path, backend):
    values = np.arange(100, 121)                     # 21 values: 2 streams of 10 (+1 for targets)
    net = data_net(write(tmp_path / "t.h5", values), backend=backend)
    layer = net.layer("text")
    x, y, cont = serve(net)
    np.testing.assert_array_equal(x, [[100, 110], [101, 111], [102, 112]])   # (T, N), time-major
    np.testing.assert_array_equal(y, x + 1)
    np.testing.assert_array_equal(cont, [[0, 0], [1, 1], [1, 1]])          # an epoch starts sequences
    x, _, cont = serve(net)
    np.testing.assert_array_equal(x, [[103, 113], [104, 114], [105, 115]])  # where the last left off
    assert cont.all()
    x, _, _ = serve(net)
    assert x[-1, 0] == 108 and layer.epoch == 1 and layer.position == 0     # 3 windows of 3 per stream
    x, _, cont = serve(net)
    np.testing.assert_array_equal(x[:, 0], [100, 101, 102])
    np.testing.assert_array_equal(cont[0], [0, 0])


def test_the_files_cont_starts_sequences_inside_a_window(tmp_path):
    values = np.arange(13)
    cont = np.ones(13, np.uint8)
    cont[[4, 7]] = 0                                  # works start at 4 and 7
    x, _, served = serve(data_net(write(tmp_path / "t.h5", values, cont), seq_len=6, batch_size=2))
    np.testing.assert_array_equal(x[:, 0], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(served[:, 0], [0, 1, 1, 1, 0, 1])
    np.testing.assert_array_equal(served[:, 1], [0, 0, 1, 1, 1, 1])   # stream 1 starts at 6, then 7


def test_one_epoch_is_one_validation_pass(tmp_path):
    net = data_net(write(tmp_path / "t.h5", np.arange(61)), seq_len=5, batch_size=4)
    net.forward_epoch()
    assert net.layer("text").epoch == 1 and net.layer("text").position == 0


@pytest.mark.parametrize("make, message", [
    (lambda p: write(p, np.arange(6)), r"holds 6 values in 'chars': too few for 2 streams of 3 \+ 1"),
    (lambda p: write(p, np.zeros((8, 2))), r"dataset 'chars' is float64 of shape \(8, 2\), not a 1-D array"),
    (lambda p: write(p, np.arange(20), np.ones(19)), r"has 'cont' of shape \(19,\), but 'chars' is \(20,\)"),
    (lambda p: write(p, np.arange(3), name="other"), r"has no dataset 'chars' \(it has: other\)"),
])
def test_mistakes_name_the_file_layer_and_field(tmp_path, make, message):
    with pytest.raises(GraphnetError, match=r"layer 'text': source: .*" + message):
        data_net(make(tmp_path / "t.h5"))


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(GraphnetError, match=r"^net .text.: layer .text.: source: \S*nothing\.h5: no such HDF5 file$"):
        data_net(str(tmp_path / "nothing.h5"))
