"""The one door between graphnet and the arrays: NumPy on the CPU or CuPy on a GPU.

Layers write `xp.` code once and never ask which one they run on. Everything random
starts from one seeded NumPy generator on the host, so a net initialises identically on
both backends and a snapshot holds one generator state.
"""

import contextlib
import os

import numpy as np

from .errors import GraphnetError

BACKENDS = ("numpy", "cupy")
_cupy = None


def _import_cupy():
    """CuPy, imported on first use only, so CPU installs never touch it."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
            if cupy.cuda.runtime.getDeviceCount() < 1:
                raise RuntimeError("no CUDA device found")
        except Exception as err:  # ImportError, CUDARuntimeError, a driver mismatch...
            raise GraphnetError(
                f"backend 'cupy' needs CuPy and an NVIDIA GPU "
                f"(pip install graphnet[gpu]): {type(err).__name__}: {err}".strip(": "),
                field="backend") from None
        _cupy = cupy
    return _cupy


def _load_kernels():
    """graphnet.kernels when numba is installed and GRAPHNET_KERNELS is not 0, else None."""
    if os.environ.get("GRAPHNET_KERNELS", "1") == "0":
        return None
    try:
        from . import kernels
    except Exception:  # numba missing, or LLVM unable to load here: the plain NumPy paths serve
        return None
    return kernels


def host_memory():
    """Bytes of physical memory on this machine (arrays on the host cannot use more)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no estimate, no refusal
        return None


def describe_bytes(nbytes):
    """1.5 GiB, 2.8 PiB: a size in words."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if nbytes < 1024 or unit == "EiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.{'1f' if nbytes < 1e4 else '2g'}} {unit}"
        nbytes /= 1024


def cupy_available():
    """True when the cupy backend can run here (CuPy importable and a GPU present)."""
    try:
        _import_cupy()
        return True
    except GraphnetError:
        return False


class Backend:
    """Array module, dtype and random generator for one net.

        backend = Backend("cupy", dtype="float64", seed=1)
        x = backend.asarray(host_array)      # on the device, in backend.dtype
        backend.to_host(x)                   # back to a NumPy array
    """

    def __init__(self, name="numpy", dtype="float32", seed=0):
        if name not in BACKENDS:
            raise GraphnetError(f"unknown backend {name!r}, expected one of {', '.join(BACKENDS)}",
                                field="backend")
        self.name = name
        self.xp = _import_cupy() if name == "cupy" else np
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            self.dtype = None
        if self.dtype not in (np.float32, np.float64):
            raise GraphnetError(f"must be float32 or float64, got {dtype!r}", field="dtype")
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        # Whether each array operation is a kernel launch on a device (CuPy: ~10 us each), so
        # that work cut into pieces for the host's threads is better left whole.
        self.launches = name == "cupy"
        self._kernels = None if name == "numpy" else False
        self._held = None   # parallel() calls held by `joined`
        if name == "numpy":
            from .workers import shared_workers
            self._workers = shared_workers()
            self._workers.own_blas()

    @property
    def kernels(self):
        """graphnet.kernels, compiled loops for a few NumPy hot spots, or None (on CuPy,
        without numba, or with GRAPHNET_KERNELS=0). Imported on first use: numba takes
        a moment to load, and nets without those layers never need it."""
        if self._kernels is None:
            self._kernels = _load_kernels() or False
        return self._kernels or None

    def parallel(self, count, work, then=None):
        """work(part, slot) for part in range(count): on NumPy, side by side on the process's
        threads (graphnet/workers.py; slot names the thread, for its scratch buffers); on
        CuPy in order, as the GPU already runs each call across the device. `then()`, when
        given, runs once every part is done (a sum over the parts). Inside `joined` the
        call is held, and run when it ends."""
        if self._held is not None:
            self._held.append((count, work, then))
            return
        if self.name == "numpy":
            if self._workers.spin is None and count > 1 and self.kernels is not None:
                spin = self.kernels.spin_while
                spin(np.zeros(2, dtype=np.int64), 0, 1, 0, 1)   # compiled (or loaded) here, once
                self._workers.spin = spin
            self._workers.run(count, work)
        else:
            for part in range(count):
                work(part, 0)
        if then is not None:
            then()

    @contextlib.contextmanager
    def joined(self):
        """Hold the parallel() calls made inside, then run them: as one job when they have as
        many parts and only the last has a `then` (part i of each call in turn), else one
        after another. For layers that do all their work in such calls (graphnet/joins.py),
        so holding the calls changes no number."""
        held = self._held = []
        try:
            yield
        finally:
            self._held = None
        if len(held) > 1 and len({count for count, _, _ in held}) == 1 and not any(
                then for _, _, then in held[:-1]):
            works = [work for _, work, _ in held]

            def joint(part, slot):
                for work in works:
                    work(part, slot)
            held = [(held[0][0], joint, held[-1][2])]
        for count, work, then in held:
            self.parallel(count, work, then)

    def asarray(self, array, dtype=None):
        """A device array of `array` (host or device) in the backend's dtype; copies if it must."""
        return self.xp.asarray(array, dtype=dtype or self.dtype)

    def to_host(self, array):
        """A NumPy array of `array`, wherever it lives."""
        return array.get() if hasattr(array, "get") and self.name == "cupy" else np.asarray(array)

    def memory(self):
        """Bytes a net's arrays can take here: the machine's physical memory on NumPy, the
        device's free memory (and what CuPy's pool holds free) on CuPy; None if unknown."""
        if self.name == "numpy":
            return host_memory()
        free, _ = self.xp.cuda.runtime.memGetInfo()
        return free + self.xp.get_default_memory_pool().free_bytes()

    def zeros(self, shape, dtype=None):
        return self.xp.zeros(shape, dtype=dtype or self.dtype)

    def empty(self, shape, dtype=None):
        return self.xp.empty(shape, dtype=dtype or self.dtype)

    def uniform(self, shape):
        """Device array of U[0, 1) draws, taken from the backend's one seeded generator."""
        if self.name == "numpy":
            return self.rng.random(shape, dtype=self.dtype)
        # A device generator seeded from the host one keeps a single state to snapshot.
        device_rng = self.xp.random.default_rng(int(self.rng.integers(2**63)))
        return device_rng.random(shape, dtype=self.dtype)

    def normal(self, shape):
        """Device array of N(0, 1) draws, taken from the backend's one seeded generator."""
        if self.name == "numpy":
            return self.rng.standard_normal(shape, dtype=self.dtype)
        device_rng = self.xp.random.default_rng(int(self.rng.integers(2**63)))
        return device_rng.standard_normal(shape, dtype=self.dtype)

    def synchronize(self):
        """Wait for the device to finish what it was given (for timing); nothing on NumPy."""
        if self.name == "cupy":
            self.xp.cuda.Device().synchronize()

    def rng_state(self):
        """The generator's state as plain data (dicts and ints): safe to store and reload."""
        return self.rng.bit_generator.state

    def set_rng_state(self, state):
        self.rng.bit_generator.state = state

    def __repr__(self):
        return f"Backend({self.name!r}, dtype={self.dtype.name!r}, seed={self.seed})"


def get_backend(backend=None, dtype="float32", seed=0):
    """A Backend from a name, an existing Backend, or $GRAPHNET_BACKEND (default numpy)."""
    if isinstance(backend, Backend):
        return backend
    return Backend(backend or os.environ.get("GRAPHNET_BACKEND", "numpy"), dtype, seed)
