"""Sharding, in one process: K data layers with shard (r, K) and batch B serve, side by side,
exactly the batches one layer serves with batch K*B (no MPI needed)."""

import h5py
import numpy as np
import pytest

from graphnet import Net
from graphnet.layers import AsyncHDF5Data, HDF5Data, MemoryData, SequenceData

K, B = 3, 4


def _served(layer, passes):
    """The tops of `passes` forwards of `layer` alone in a net."""
    net = Net("shard", [layer], phase="train", dtype="float64", seed=7)
    out = []
    for _ in range(passes):
        net.forward()
        out.append([net.backend.to_host(net.blobs[t].data).copy() for t in layer.tops])
    return out


def _check(make, passes=40):
    """make(batch_size) -> a data layer; the K shards joined must be the one batch of K*B."""
    single = _served(make(B * K), passes)
    shards = []
    for rank in range(K):
        layer = make(B)
        layer.shard = (rank, K)
        shards.append(_served(layer, passes))
    axis = 1 if make(B).sample_axes == 2 else 0  # sequences are (T, N): streams along axis 1
    for i in range(passes):
        for t in range(len(single[i])):
            joined = np.concatenate([shards[r][i][t] for r in range(K)], axis=axis)
            np.testing.assert_array_equal(joined, single[i][t], err_msg=f"pass {i}, top {t}")


@pytest.mark.parametrize("shuffle", [False, True])
def test_memory_data(shuffle):
    x = np.arange(50 * 3, dtype=float).reshape(50, 3)
    y = np.arange(50, dtype=float)
    _check(lambda b: MemoryData(name="data", tops=["x", "y"], batch_size=b, data=[x, y],
                                shuffle=shuffle))


@pytest.mark.parametrize("kind", [HDF5Data, AsyncHDF5Data])
@pytest.mark.parametrize("shuffle", [False, True])
def test_hdf5_data(tmp_path, kind, shuffle):
    for n, part in ((37, "a"), (26, "b")):   # blocks of 5 rows: batches cross blocks and files
        with h5py.File(tmp_path / f"{part}.h5", "w") as f:
            f["x"] = np.random.default_rng(n).normal(size=(n, 2, 3))
            f["y"] = np.arange(n, dtype=float) + (1000 if part == "b" else 0)
    (tmp_path / "list.txt").write_text(f"{tmp_path / 'a.h5'}\n{tmp_path / 'b.h5'}\n")
    _check(lambda b: kind(name="data", tops=["x", "y"], batch_size=b, block_rows=5,
                          source=str(tmp_path / "list.txt"), shuffle=shuffle))


def test_sequence_data(tmp_path):
    with h5py.File(tmp_path / "text.h5", "w") as f:
        f["chars"] = np.arange(500) % 61
    _check(lambda b: SequenceData(name="text", tops=["c", "n", "cont"], seq_len=5, batch_size=b,
                                  source=str(tmp_path / "text.h5")))
