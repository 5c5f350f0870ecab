"""The backend: NumPy or CuPy behind one door, one seeded generator, CuPy only when asked for."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import graphnet
from graphnet import Backend, GraphnetError, get_backend


def test_import_graphnet_does_not_import_cupy(tmp_path):
    # A stand-in cupy first on the path shows up in sys.modules if anything imports it,
    # whether or not the real one is installed here.
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text("")
    code = ("import sys, graphnet, graphnet.layers, graphnet.net, graphnet.fillers\n"
            "graphnet.Backend().normal((2,)); graphnet.get_backend()\n"
            "print('cupy' in sys.modules)\n"
            "try:\n    graphnet.Backend('cupy')\nexcept graphnet.GraphnetError as err:\n"
            "    print('pip install graphnet[gpu]' in str(err))\n"
            "print('cupy' in sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    env.pop("GRAPHNET_BACKEND", None)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         check=True)
    # Not imported by graphnet; imported (and found wanting) once the cupy backend is asked for.
    assert out.stdout.split() == ["False", "True", "True"], out.stdout + out.stderr


@pytest.mark.skipif(graphnet.cupy_available(), reason="CuPy and a GPU are present")
def test_cupy_backend_without_cupy_or_gpu_says_how_to_get_it():
    with pytest.raises(GraphnetError) as e:
        Backend("cupy")
    message = str(e.value)
    assert "pip install graphnet[gpu]" in message
    assert "CuPy" in message and "GPU" in message and e.value.field == "backend"
    assert graphnet.cupy_available() is False


@pytest.mark.parametrize("name", ["torch", "NUMPY_", ""])
def test_unknown_backend_name(name):
    with pytest.raises(GraphnetError) as e:
        Backend(name)
    assert str(e.value) == f"backend: unknown backend {name!r}, expected one of numpy, cupy"


@pytest.mark.parametrize("dtype", ["int32", "float16", np.complex64, "flaot32", "no such type"])
def test_bad_dtype(dtype):
    with pytest.raises(GraphnetError) as e:
        Backend("numpy", dtype=dtype)
    assert e.value.field == "dtype"
    assert str(e.value) == f"dtype: must be float32 or float64, got {dtype!r}"


def test_float32_by_default_and_float64_on_request(backend):
    assert Backend(backend).dtype == np.float32
    for dtype in ("float64", np.float64, np.dtype("float64")):
        assert Backend(backend, dtype=dtype).dtype == np.float64
    b = Backend(backend, dtype="float64")
    assert b.zeros((2, 3)).dtype == np.float64 and b.empty((4,)).shape == (4,)
    assert b.zeros((2, 3), dtype="float32").dtype == np.float32
    assert repr(b) == f"Backend('{backend}', dtype='float64', seed=0)"


def test_numpy_backend_uses_numpy():
    assert Backend().xp is np and Backend().name == "numpy"


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_and_normal_dtype_shape_and_range(backend, dtype):
    b = Backend(backend, dtype=dtype, seed=1)
    u, n = b.to_host(b.uniform((400, 500))), b.to_host(b.normal((400, 500)))
    assert u.shape == n.shape == (400, 500)
    assert u.dtype == n.dtype == np.dtype(dtype)
    assert u.min() >= 0 and u.max() < 1
    # 200000 draws: standard errors 6.5e-4 (uniform mean), 2.2e-3 (normal mean and std).
    assert abs(u.mean() - 0.5) < 5e-3 and abs(u.std() - 12 ** -0.5) < 5e-3
    assert abs(n.mean()) < 0.012 and abs(n.std() - 1) < 0.012


def test_draws_repeat_after_restoring_the_state(backend):
    b = Backend(backend, seed=5)
    b.normal((3,))
    state = b.rng_state()
    first = [b.to_host(b.uniform((4, 3))), b.to_host(b.normal((5,)))]
    b.set_rng_state(state)
    again = [b.to_host(b.uniform((4, 3))), b.to_host(b.normal((5,)))]
    for x, y in zip(first, again):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(first[0], b.to_host(b.uniform((4, 3))))


def test_same_seed_same_draws_other_seed_other_draws(backend):
    one, two, other = Backend(backend, seed=2), Backend(backend, seed=2), Backend(backend, seed=3)
    draws = [b.to_host(b.normal((6,))) for b in (one, two, other)]
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2])


def test_state_moves_between_backends_of_one_seed():
    a, b = Backend(seed=4), Backend(seed=99)
    a.uniform((7,))
    b.set_rng_state(a.rng_state())
    np.testing.assert_array_equal(a.normal((5,)), b.normal((5,)))


def plain(value):
    """True when `value` is built only from dicts with string keys, strings, ints and floats."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(plain(v) for v in value)
    return type(value) in (str, int, float, bool)


def test_rng_state_is_plain_data_that_survives_json():
    b = Backend(seed=11)
    b.uniform((9,))
    state = b.rng_state()
    assert plain(state), state
    stored = json.loads(json.dumps(state))
    expected = b.to_host(b.normal((4,)))
    fresh = Backend(seed=0)
    fresh.set_rng_state(stored)
    np.testing.assert_array_equal(fresh.normal((4,)), expected)


def test_rng_state_is_a_snapshot_not_a_live_view():
    b = Backend(seed=1)
    state = b.rng_state()
    saved = json.dumps(state)
    b.uniform((10,))
    assert json.dumps(state) == saved


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_asarray_and_to_host_round_trip(backend, dtype):
    b = Backend(backend, dtype=dtype)
    host = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    device = b.asarray(host)
    assert device.dtype == np.dtype(dtype) and device.shape == (3, 4)
    back = b.to_host(device)
    assert isinstance(back, np.ndarray) and back.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back, host.astype(dtype))
    assert b.asarray([1, 2, 3]).dtype == np.dtype(dtype)
    assert b.asarray(host, dtype="int64").dtype == np.int64
    np.testing.assert_array_equal(b.to_host(b.asarray(b.asarray(host))), host.astype(dtype))


def test_get_backend_defaults_to_numpy(monkeypatch):
    monkeypatch.delenv("GRAPHNET_BACKEND", raising=False)
    b = get_backend()
    assert b.name == "numpy" and b.dtype == np.float32 and b.seed == 0


def test_get_backend_honours_the_environment(monkeypatch):
    monkeypatch.setenv("GRAPHNET_BACKEND", "not-a-backend")
    with pytest.raises(GraphnetError) as e:
        get_backend()
    assert "unknown backend 'not-a-backend'" in str(e.value)
    assert get_backend("numpy").name == "numpy"              # an explicit name wins
    monkeypatch.setenv("GRAPHNET_BACKEND", "numpy")
    b = get_backend(None, "float64", 7)
    assert (b.name, b.dtype, b.seed) == ("numpy", np.float64, 7)


def test_get_backend_passes_a_backend_through():
    b = Backend(dtype="float64", seed=3)
    assert get_backend(b) is b


def test_a_net_uses_the_environment_backend(monkeypatch):
    monkeypatch.setenv("GRAPHNET_BACKEND", "nothing")
    layers = [graphnet.layers.Input(name="in", tops=["x"], shapes=[[2, 3]])]
    with pytest.raises(GraphnetError) as e:
        graphnet.Net("n", layers)
    assert "unknown backend 'nothing'" in str(e.value)


def test_memory_is_the_machines_on_numpy():
    from graphnet.backend import describe_bytes, host_memory
    assert host_memory() == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") > 0
    assert Backend("numpy").memory() == host_memory()
    assert [describe_bytes(n) for n in (5, 1536, 2.84 * 2 ** 50, 2 ** 70)] == \
        ["5 B", "1.5 KiB", "2.8 PiB", "1024.0 EiB"]


@pytest.mark.gpu
def test_memory_is_the_devices_free_memory_on_cupy():
    if not graphnet.cupy_available():
        pytest.skip("CuPy and an NVIDIA GPU are needed for the cupy backend")
    import cupy
    free, total = cupy.cuda.runtime.memGetInfo()
    assert free <= Backend("cupy").memory() <= total
