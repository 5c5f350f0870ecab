"""Each bug the netdef fuzzer (test_fuzz_netdef.py) found, as the smallest netdef that showed
it: a traceback, a warning, two lines, or a hang, where one line belongs."""

import pytest

import graphnet.backend
from tests.test_fuzz_netdef import in_empty_folder, run_info  # noqa: F401 - a fixture

GIB = 1 << 30
XOR = """\
name: t
layers:
  - {name: data, type: MemoryData, tops: [x, y], batch_size: 4, source: {type: parity, n: 8}}
  - {name: ip, type: InnerProduct, bottoms: [x], tops: [p], output_dim: 1}
"""

# name: (netdef, the one line it must print: {path} is the netdef's own).
FOUND = {
    "not UTF-8": (b"name: t\nlayers: [\xff]\n",
                  "{path}:2: is not a UTF-8 text file (byte 0xff at offset 17)"),
    "nested too deeply": ("name: t\nlayers: " + "[" * 500 + "]" * 500 + "\n",
                          "{path}:2: nests more than 50 levels deep"),
    "nested too deeply, block style": ("name: t\nlayers:\n" + "".join(
        "  " * d + "-\n" for d in range(1, 200)), "{path}:52: nests more than 50 levels deep"),
    "a type that is a list": ("name: t\nlayers:\n  - {name: a, type: [ReLU]}\n",
                              "{path}:3: layer 'a': type: must be a layer type name, got ['ReLU']"),
    "a key that is a list": ("name: t\nlayers:\n  - {name: a, type: ReLU, [x]: 1}\n",
                             "{path}:3: keys must be names, got ['x']"),
    "a key that is a number": ("name: t\nlayers:\n  - {name: a, type: ReLU, 1: x}\n",
                               "{path}:3: keys must be names, got 1"),
    "a value PyYAML cannot build": ("name: t\nseed: !!timestamp 2001-13-45\nlayers: []\n",
                                    "{path}: not valid YAML: cannot read a value (ValueError: "
                                    "month must be in 1..12)"),
    "a tagged value PyYAML fails on": ("name: t\nseed: !!bool maybe\nlayers: []\n",
                                       "{path}: not valid YAML: cannot read a value (KeyError: 'maybe')"),
    "a generated source too big": (
        XOR.replace("n: 8", "n: 1125899906842624"),
        "{path}:3: layer 'data': source: 1125899906842624 samples of parity need 16.0 PiB, "
        "and there is 16.0 GiB"),
    "a parameter too big": (
        XOR.replace("output_dim: 1", "output_dim: 10000000000000"),
        "{path}:4: layer 'ip': the net needs at least 436.6 TiB of memory by this layer (parameter "
        "'weight' and its gradient of shape (10000000000000, 3): 218.3 TiB), and there is 16.0 GiB"),
    "a batch too big": (
        XOR.replace("batch_size: 4", "batch_size: 9223372036854775808"),
        "{path}:3: layer 'data': the net needs at least 128.0 EiB of memory by this layer (top 'x' "
        "of shape (9223372036854775808, 3): 96.0 EiB), and there is 16.0 GiB"),
    "values beyond float32": (XOR.replace("n: 8", "n: 8, noise: 1.0e+300"),
                              "{path}:3: layer 'data': source: 'x' holds values that are not "
                              "finite in float32"),
    "weights beyond float32": (XOR.replace("output_dim: 1", "output_dim: 1, weight_filler: {type: gaussian, "
                                                            "std: 1.0e+300}"),
                               "{path}:4: layer 'ip': weight_filler: makes values that are not "
                               "finite in float32"),
    "a blob name with a line break": (XOR.replace("bottoms: [x]", 'bottoms: ["\\ufeff\\nx"]'),
                                      "{path}:4: layer 'ip': bottoms: item 0: must be a name without "
                                      "line breaks or control characters, got '\\ufeff\\nx'"),
    "a path with a line break": ("name: t\nlayers:\n  - {name: d, type: HDF5Data, tops: [x], "
                                 'source: "a\\nb.h5", batch_size: 2}\n',
                                 "{path}:3: layer 'd': source: a\\nb.h5: no such HDF5 file "
                                 "(looked up from {cwd})"),
    "a noise of -0.0": (XOR.replace("n: 8", "n: 8, noise: -0.0"), None),
    "a folder as an HDF5 source": ("name: t\nlayers:\n  - {name: d, type: HDF5Data, tops: [x], "
                                   "source: sub, batch_size: 2}\n",
                                   "{path}:3: layer 'd': source: sub: is a folder, not an HDF5 file"),
    "one-hot of a loss": (XOR + "  - {name: loss, type: SquareLoss, bottoms: [p, y]}\n"
                          "  - {name: oh, type: Index2Onehot, bottoms: [loss], tops: [o], n_class: 2}\n",
                          "{path}:6: layer 'oh': bottoms: needs class indices shaped (N,) or "
                          "(N, 1, ...), got 'loss' of shape ()"),
}


def alias_bomb():
    """Seven lines whose value is a list of 9**7 strings, whose repr is 34 MB (with ten, as
    the fuzzer first wrote, it is 24 GB: the repr never ends)."""
    lines = ["name: t", "solver:", "  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"  l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 7)]
    return "\n".join(lines + ["layers:", "  - {name: *l6, type: ReLU}", ""])


FOUND["an alias bomb in an error message"] = (
    alias_bomb(), "{path}:11: layer #1: name: must be a non-empty string, got [[[...], [...], "
                  "[...], ...], [[...], [...], [...], ...], [[...], [...], [...], ...], ...]")


@pytest.fixture
def sixteen_gib(monkeypatch):
    """A machine with 16 GiB, so that the messages about memory read the same everywhere."""
    monkeypatch.setattr(graphnet.backend, "host_memory", lambda: 16 * GIB, raising=False)


@pytest.mark.parametrize("case", sorted(FOUND))
def test_what_the_fuzzer_found_is_one_line(in_empty_folder, sixteen_gib, case):  # noqa: F811
    text, expected = FOUND[case]
    path = in_empty_folder / "net.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    (in_empty_folder / "sub").mkdir()
    status, _, err, problem = run_info(path)
    assert problem is None, problem
    assert (status, err) == ((0, "") if expected is None else
                             (2, expected.format(path=path, cwd=in_empty_folder) + "\n"))


def test_the_allocator_has_the_last_word(in_empty_folder, monkeypatch):
    # Where the memory there is cannot be known, nothing is refused early; NumPy's MemoryError
    # is still one line, naming the layer.
    monkeypatch.setattr(graphnet.backend, "host_memory", lambda: None)
    path = in_empty_folder / "net.yaml"
    path.write_text(XOR.replace("output_dim: 1", "output_dim: 1000000000000000"))
    status, _, err, problem = run_info(path)
    assert problem is None, problem
    assert (status, err) == (2, f"{path}:4: layer 'ip': not enough memory: Unable to allocate 14.2 PiB "
                                "for an array with shape (4, 1000000000000000) and data type float32\n")


@pytest.mark.parametrize("fields, expected", [
    ("batch_size: 10000000000000", "{path}:3: layer 'd': batch_size: batches of 10000000000000 need "
                                   "109.1 TiB, and there is 16.0 GiB"),
    ("batch_size: 9223372036854775808", "{path}:3: layer 'd': batch_size: batches of "
                                        "9223372036854775808 need 96.0 EiB, and there is 16.0 GiB"),
    ("batch_size: 2, block_rows: 9223372036854775808", None),  # a block is at most the file
])
@pytest.mark.parametrize("kind", ["HDF5Data", "AsyncHDF5Data"])
def test_sizes_for_a_real_data_file(in_empty_folder, sixteen_gib, kind, fields, expected):  # noqa: F811
    import h5py
    import numpy as np
    with h5py.File(in_empty_folder / "d.h5", "w") as f:
        f["x"] = np.zeros((10, 3), np.float32)
    path = in_empty_folder / "net.yaml"
    path.write_text(f"name: t\nlayers:\n  - {{name: d, type: {kind}, tops: [x], source: d.h5, {fields}}}\n")
    status, _, err, problem = run_info(path)
    assert problem is None, problem
    assert (status, err) == ((0, "") if expected is None else (2, expected.format(path=path) + "\n"))


def test_a_block_larger_than_any_file_reads_the_file(tmp_path):
    import h5py
    import numpy as np
    from graphnet import Net
    from graphnet.layers import HDF5Data
    with h5py.File(tmp_path / "d.h5", "w") as f:
        f["x"] = np.arange(30, dtype=np.float32).reshape(10, 3)
    net = Net("n", [HDF5Data(name="d", tops=["x"], source=str(tmp_path / "d.h5"), batch_size=4,
                             block_rows=2 ** 63)])
    for _ in range(3):
        net.forward()
    np.testing.assert_array_equal(net.blobs["x"].data[:, 0], [24, 27, 0, 3])
