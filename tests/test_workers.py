"""The NumPy backend's threads: every part runs once, errors reach the caller, crowding is
noticed, and a net's numbers do not depend on the thread count."""

import threading
import time

import numpy as np
import pytest

import graphnet.workers as workers
from graphnet import Net
from graphnet.layers import Convolution, Deconvolution, Input, InnerProduct, Pooling, SoftmaxLoss
from graphnet.layers import convolution


def test_every_part_runs_once_on_some_thread():
    pool = workers.Workers(3)
    for count in (1, 2, 7, 50):
        seen, slots = [], set()
        lock = threading.Lock()

        def work(part, slot):
            with lock:
                seen.append(part)
                slots.add(slot)
        pool.run(count, work)
        assert sorted(seen) == list(range(count))
        assert slots <= {0, 1, 2}


def test_a_part_that_raises_raises_in_the_caller_and_the_pool_goes_on():
    pool = workers.Workers(2)

    def work(part, slot):
        if part == 3:
            raise ValueError("part 3 failed")
    with pytest.raises(ValueError, match="part 3 failed"):
        pool.run(8, work)
    done = []
    pool.run(4, lambda part, slot: done.append(part))
    assert sorted(done) == [0, 1, 2, 3]


def test_parts_kept_off_the_cpu_make_the_pool_run_alone_for_a_while(monkeypatch):
    pool = workers.Workers(2)
    monkeypatch.setattr(pool, "shortest", 0.2)
    monkeypatch.setattr(pool, "_backoff", 0.2)
    monkeypatch.setattr(pool, "warm_up", 1)
    pool.run(2, lambda part, slot: time.sleep(0.06))   # the first job: not counted
    assert pool._crowded_until == 0.0
    # A part that sleeps takes time without running on a CPU: as a thread that is not scheduled.
    pool.run(6, lambda part, slot: time.sleep(0.02))
    assert pool._crowded_until > time.perf_counter()
    slots = set()
    pool.run(6, lambda part, slot: slots.add(slot))
    assert slots == {0}
    assert pool._backoff == 0.4   # doubled, for the next time the crowding is seen
    time.sleep(0.25)
    pool.run(2, lambda part, slot: None)   # the back-off is over: the threads are tried again
    assert pool._crowded_until == 0.0

    class Job:   # two threads that ran on a CPU all the time the job took
        ran = 0.12
    pool._judge(Job(), 0.06)
    assert pool._crowded_until == 0.0 and pool._backoff == 0.2


def test_thread_count_from_the_environment(monkeypatch):
    for name in ("GRAPHNET_THREADS", "OMP_NUM_THREADS", "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(workers.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert workers.default_threads() == 4
    monkeypatch.setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "2")    # two processes of mpiexec here
    assert workers.default_threads() == 2
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert workers.default_threads() == 3
    monkeypatch.setenv("GRAPHNET_THREADS", "1")
    assert workers.default_threads() == 1


def test_split_covers_the_range_in_order():
    assert workers.split(10, 3) == [slice(0, 4), slice(4, 7), slice(7, 10)]
    assert workers.split(2, 4) == [slice(0, 1), slice(1, 2)]


def test_batch_parts_come_in_fours_of_about_the_size_asked():
    assert len(workers.batch_parts(64, 46_080, 1 << 20)) == 4      # LeNet's pool1: 3 parts by size
    assert len(workers.batch_parts(64, 128_000, 1 << 20)) == 8     # conv2's columns
    assert workers.batch_parts(3, 10**6, 1 << 20) == [slice(0, 1), slice(1, 2), slice(2, 3)]
    assert workers.batch_parts(64, 10, 1 << 20) == [slice(0, 64)]  # small: one part
    assert workers.batch_parts(0, 10, 1 << 20) == []


def lenet_like(kind):
    return [Input(name="in", tops=["x", "label"], shapes=[[9, 3, 10, 10], [9]]),
            kind(name="conv", bottoms=["x"], tops=["c"], n_filter=4, kernel=3, pad=1, n_group=1),
            Pooling(name="pool", bottoms=["c"], tops=["p"], kernel=2, stride=2),
            Convolution(name="conv2", bottoms=["p"], tops=["d"], n_filter=6, kernel=3, stride=2),
            InnerProduct(name="ip", bottoms=["d"], tops=["y"], output_dim=5),
            SoftmaxLoss(name="loss", bottoms=["y", "label"])]


@pytest.mark.parametrize("kind", [Convolution, Deconvolution])
def test_numbers_do_not_depend_on_the_thread_count(monkeypatch, kind):
    """Fresh nets (whose first backward makes the blobs' gradients) with parts of one sample,
    on one thread and on four, give the same bits, seed after seed (max pooling goes through
    the kernels' parts where numba is installed)."""
    monkeypatch.setattr(convolution._ConvolutionBase, "part_bytes", 1)
    monkeypatch.setattr(Pooling, "part_bytes", 1)
    monkeypatch.setattr(InnerProduct, "part_products", 1)
    results = {}
    for threads in (1, 4):
        monkeypatch.setattr(workers, "_shared", workers.Workers(threads))
        runs = []
        for seed in range(15):
            rng = np.random.default_rng(seed)
            net = Net("n", lenet_like(kind), dtype="float32", seed=seed, force_backward=True)
            net.blobs["x"].data[...] = rng.standard_normal(net.blobs["x"].shape)
            net.blobs["label"].data[...] = rng.integers(0, 5, size=9)
            net.forward()
            net.backward()
            runs.append([net.blobs["x"].diff.copy()] + [p.diff.copy() for ps in net.params.values()
                                                        for p in ps])
        results[threads] = runs
    for one, four in zip(results[1], results[4]):
        for a, b in zip(one, four):
            assert a.tobytes() == b.tobytes()


def test_spin_while_sees_another_thread_change_the_flag():
    kernels = pytest.importorskip("graphnet.kernels")
    flags = np.zeros(4, dtype=np.int64)
    assert not kernels.spin_while(flags, 0, 0, 1000, 3)     # unchanged: gives up after 1000 turns
    assert kernels.spin_while(flags, 0, 5, 1000, 3)         # already other than 5
    threading.Timer(0.05, lambda: flags.__setitem__(0, 7)).start()
    assert kernels.spin_while(flags, 0, 0, 10**10, 3)       # the store from the timer's thread ends it
    assert flags[0] == 7
