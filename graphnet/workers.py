"""Threads for the NumPy backend: a layer's batch cut into parts that run side by side.

    backend.parallel(count, work)    # work(part, slot) for part in range(count)

A LeNet step on NumPy spends about a third of its time outside BLAS (im2col, col2im,
pooling, bias and transposes), on one core while the other waits; and OpenBLAS splits
every product across both cores, so each of its calls waits for the slower thread, and a
core taken by another program costs it a scheduler time slice (a 2-thread product of
milliseconds took 24 ms beside one busy process). PyTorch's answer is ours: one pool of
threads that takes whole parts of the batch, each part's products on one BLAS thread.
The parts are handed out one at a time, so a thread held up by another program simply
takes fewer of them. Work must release the GIL to run side by side: BLAS, NumPy's array
passes and the nogil kernels do.

Results never depend on the number of threads or on which thread ran a part: each part
writes its own rows, and whatever is summed over parts (weight gradients) is summed in
part order afterwards. GRAPHNET_THREADS sets the thread count (default: the cores this
process may use, as OMP_NUM_THREADS says when set); 1 runs every part in the caller.
"""

import ctypes
import itertools
import os
import threading
import time


def default_threads():
    """GRAPHNET_THREADS, else OMP_NUM_THREADS, else the cores this process may run on,
    shared among the processes mpiexec started on this machine."""
    for name in ("GRAPHNET_THREADS", "OMP_NUM_THREADS"):
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    for name in ("OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"):   # Open MPI, MPICH
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return max(1, cores // int(value))
    return cores


def _blas_threads_setter():
    """OpenBLAS's set_num_threads from the library NumPy loaded, or None if not found."""
    import numpy  # noqa: F401  (loads OpenBLAS, if NumPy uses it)
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
                     "openblas_set_num_threads64_", "openblas_set_num_threads"):
            setter = getattr(lib, name, None)
            if setter is not None:
                return setter
    return None


class _Job:
    """One call of `Workers.run`: its parts, handed out one at a time, and their count done.
    `flags[2] = number` says it has finished, to a caller that spins on it."""

    def __init__(self, count, work, number, flags):
        self.count, self.work, self.number, self.flags = count, work, number, flags
        self.parts = itertools.count()   # next() is atomic under the GIL: a part goes to one thread
        self.done, self.error = 0, None
        self.lock = threading.Lock()
        self.finished = threading.Event()
        self.ran = 0.0                   # seconds the parts ran on a CPU, all threads together

    def take(self, slot):
        for part in self.parts:
            if part >= self.count:
                return
            cpu = time.thread_time()
            try:
                if self.error is None:
                    self.work(part, slot)
            except BaseException as err:  # noqa: B036  (handed to the caller to raise)
                self.error = self.error or err
            ran = time.thread_time() - cpu
            with self.lock:
                self.ran += ran
                self.done += 1
                if self.done == self.count:
                    self.finished.set()
                    self.flags[2] = self.number


class Workers:
    """`threads` - 1 daemon threads and the caller, taking parts of one job at a time.

    Crowding: when other programs hold the cores, a part handed to a thread that is not
    scheduled waits a time slice, and every job waits for its slowest part (a LeNet step
    beside one busy process took 80 ms on two threads against 19 on one). The clocks tell:
    threads that share a job's work should run more CPU time than the job takes (LeNet's
    jobs on an idle 2-core machine: 1.85 times), and beside a busy process they ran less
    (16 ms of CPU in 36 ms). When the jobs of the last `probe` seconds ran less than
    `gain` times their own length, the pool runs everything on the caller alone, for a
    back-off that doubles while the crowding lasts (up to `longest`), then tries its
    threads again. This counts what the threads achieve, so parts that wait for each
    other's GIL but still gain are not taken for crowding. The first `warm_up` jobs are
    not counted: they load and compile (numba) on one thread.
    """
    probe, gain, shortest, longest, warm_up = 0.05, 1.2, 0.5, 8.0, 20
    # Turns of `spin_while` before sleeping: ~280 us on this 2-core VM, to span LeNet's serial
    # stretches between jobs (the loss, the update). A thread that sleeps there first takes the
    # GIL from the caller, and is woken for the next job ~25 us late: steps ran 1.1 % faster
    # than with 200,000 turns (~60 us), and the same with 5 million.
    spins = 1_000_000

    def __init__(self, threads):
        self.threads = threads
        self.spin = None   # graphnet.kernels.spin_while, set by a backend that has numba
        self._job = None
        self._wake = None
        self._numbers = itertools.count(1)
        self._ran = self._took = 0.0
        self._jobs = 0
        self._crowded_until, self._backoff = 0.0, self.shortest
        self._owns_blas = False

    def own_blas(self):
        """Run OpenBLAS on one thread in this process, from now on; the pool owns the cores.

        Called when a NumPy backend is made, before any product, so that every product of
        a run (a resumed one too) runs on one BLAS thread and the numbers do not depend on
        the thread count. Set for each job only, OpenBLAS's own threads, woken by a product
        between jobs, spun for a while after it and took a core from the parts (two
        threads' parts ran at 56 % of their CPU time on an idle 2-core machine; with
        OpenBLAS on one thread throughout, products on two threads ran 1.7x one's)."""
        if not self._owns_blas:
            setter = _blas_threads_setter()
            if setter is not None:
                setter(1)
            self._owns_blas = True

    def _start(self):
        import numpy
        # [0]: the number of the job on offer, [2]: of the last finished; the rest: scratch
        # for each spinning thread (see graphnet/kernels/spin.py).
        self._flags = numpy.zeros(4 + self.threads, dtype=numpy.int64)
        self._wake = threading.Condition()
        for slot in range(1, self.threads):
            threading.Thread(target=self._serve, args=(slot,), daemon=True,
                             name=f"graphnet-worker-{slot}").start()

    def _judge(self, job, took):
        """Add the job's clocks to this probe's; at its end, crowded or not from here."""
        self._jobs += 1
        if self._jobs <= self.warm_up:
            return
        self._ran += job.ran
        self._took += took
        if self._took < self.probe:
            return
        if self._ran < self.gain * self._took:
            self._crowded_until = time.perf_counter() + self._backoff
            self._backoff = min(2 * self._backoff, self.longest)
        else:
            self._backoff = self.shortest
        self._ran = self._took = 0.0

    def run(self, count, work):
        """work(part, slot) for every part in range(count); slot < threads names the thread
        (0: the caller), for per-thread scratch buffers. Returns when every part is done;
        the first exception raised by a part is raised here. The caller never waits for a
        thread to wake: it takes parts itself, and waits only for parts under way."""
        if self._crowded_until and time.perf_counter() >= self._crowded_until:
            self._crowded_until = 0.0   # the back-off is over: try the threads again
        if self.threads == 1 or count == 1 or self._crowded_until:
            for part in range(count):
                work(part, 0)
            return
        if self._wake is None:
            self._start()
        job, start = _Job(count, work, next(self._numbers), self._flags), time.perf_counter()
        try:
            with self._wake:
                self._job = job
                self._flags[0] = job.number
                self._wake.notify_all()
            job.take(0)
            if self.spin is not None and not job.finished.is_set():
                self.spin(self._flags, 2, job.number - 1, self.spins, 3)
            job.finished.wait()
        finally:
            self._job = None
        if job.error is not None:
            raise job.error
        self._judge(job, time.perf_counter() - start)

    def _serve(self, slot):
        seen = 0   # the number of the last job this thread looked at
        while True:
            # The next job often comes within microseconds: watch for it without the GIL, and
            # take it without the lock (the caller sets _job, then the flag, holding the GIL).
            if self.spin is None or not self.spin(self._flags, 0, seen, self.spins, 3 + slot):
                with self._wake:
                    while self._flags[0] == seen:
                        self._wake.wait()
            job, seen = self._job, int(self._flags[0])
            if job is not None and job.number == seen:
                job.take(slot)


_shared = None


def shared_workers():
    """The process's one pool (threads are a machine resource, not a net's)."""
    global _shared
    if _shared is None:
        _shared = Workers(default_threads())
    return _shared


def batch_parts(samples, sample_bytes, part_bytes):
    """Slices of range(samples), parts of about `part_bytes` each: one, or a count that is
    a multiple of 4 (where there are samples enough), so that 1, 2 or 4 threads share them
    evenly: three parts on two threads took as long as four. Fixed by the sizes alone, not
    by the thread count, so that sums over parts come out the same on any machine."""
    count = -(-samples * sample_bytes // part_bytes)
    if count > 1:
        count = min(samples, -(-count // 4) * 4)
    return split(samples, max(1, count))


def split(total, parts):
    """`parts` near-equal slices of range(total), the larger first."""
    size, extra = divmod(total, parts)
    bounds = list(itertools.accumulate([0] + [size + (i < extra) for i in range(parts)]))
    return [slice(a, b) for a, b in zip(bounds, bounds[1:]) if b > a]
