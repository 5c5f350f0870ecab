import numpy as np
import pytest

import graphnet


@pytest.fixture(params=["numpy", pytest.param("cupy", marks=pytest.mark.gpu)])
def backend(request):
    """The backend name; the cupy case is skipped where CuPy or a GPU is missing."""
    if request.param == "cupy" and not graphnet.cupy_available():
        pytest.skip("CuPy and an NVIDIA GPU are needed for the cupy backend")
    return request.param


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(params=["0", "1"], ids=["plain", "kernels"])
def kernels(request, monkeypatch):
    """The test on the plain NumPy path and on the compiled one (graphnet[fast]'s numba
    kernels), whichever GRAPHNET_KERNELS the run was started with."""
    if request.param == "1":
        pytest.importorskip("numba")
    monkeypatch.setenv("GRAPHNET_KERNELS", request.param)
