"""Joins (graphnet/joins.py): a convolution and the pooling after it run as one job of the
threads, and give the numbers of the layers run one by one, to the bit.

The joined net runs `net.forward()` / `net.backward()`; the same net run with `timings`
takes its layers one by one. The parts are made small here, so that the layers cut the
batch into several parts, and differently (the pooling takes the convolution's cut).
"""

import threading

import numpy as np
import pytest

from graphnet import Net
from graphnet.backend import Backend
from graphnet.layers import Convolution, Deconvolution, InnerProduct, Input, Pooling, SoftmaxLoss
from graphnet.layers import convolution, pooling

pytest.importorskip("numba")   # the pooling's parts are its kernels'

BATCH = 12


def steps(net):
    """The names of the steps forward and backward, as the net runs them."""
    return ([step[0].name for step in net._forward_steps[True]],
            [step[0].name for step in net._backward_steps])


def lenet_like(first_conv=None, pool2=None, ip1=None):
    first_conv = first_conv or {}
    return [
        Input(name="input", tops=["data", "label"], shapes=[[BATCH, 2, 16, 16], [BATCH]]),
        Convolution(name="conv1", bottoms=["data"], tops=["conv1"],
                    **{"n_filter": 4, "kernel": 3, "pad": 1, **first_conv}),
        Pooling(name="pool1", bottoms=["conv1"], tops=["pool1"], pool="max", kernel=2, stride=2),
        Convolution(name="conv2", bottoms=["pool1"], tops=["conv2"], n_filter=6, kernel=3),
        Pooling(name="pool2", bottoms=["conv2"], tops=["pool2"],
                **(pool2 or {"pool": "max", "kernel": 2, "stride": 2})),
        InnerProduct(name="ip1", bottoms=["pool2"], tops=["ip1"], output_dim=5, **(ip1 or {})),
        SoftmaxLoss(name="loss", bottoms=["ip1", "label"]),
    ]


@pytest.fixture
def small_parts(monkeypatch):
    # conv1: 12 parts of 1 sample, conv2: 4 of 3; the pools' own cuts: 8 and 4 parts
    monkeypatch.setattr(convolution._ConvolutionBase, "part_bytes", 20_000)
    monkeypatch.setattr(pooling.Pooling, "part_bytes", 8192)


def run(layers, timed, iterations=2):
    """Forward and backward of a fresh net, `iterations` times with gradients summed:
    every top and bottom gradient, and the parameter gradients."""
    net = Net("joins", layers, dtype="float32", seed=5)
    rng = np.random.default_rng(1)
    net.blobs["data"].data[...] = rng.standard_normal(net.blobs["data"].shape)
    net.blobs["label"].data[...] = rng.integers(0, 5, BATCH)
    for _ in range(iterations):
        timings = {} if timed else None
        net.forward(timings=timings)
        net.backward(timings=timings)
    blobs = {name: (b.data.tobytes(), b.diff.tobytes()) for name, b in net.blobs.items()}
    return net, blobs, net.param_diff.tobytes()


def test_a_convolution_and_its_pooling_run_as_one_job_with_the_same_numbers(small_parts):
    joined, blobs, grads = run(lenet_like(), timed=False)
    assert steps(joined) == (["input", "conv1+pool1", "conv2+pool2", "ip1", "loss"],
                             ["loss", "ip1", "conv2+pool2", "conv1+pool1"])
    layer = {layer.name: layer for layer in joined.layers}
    assert len(layer["conv1"].parts) == 12 and len(layer["conv2"].parts) == 4
    assert layer["pool1"].parts == layer["conv1"].parts   # taken from the convolution
    _, blobs_apart, grads_apart = run(lenet_like(), timed=True)
    assert blobs == blobs_apart
    assert grads == grads_apart


def test_timings_time_each_joined_layer_apart(small_parts):
    net = Net("joins", lenet_like(), dtype="float32", seed=5)
    timings = {}
    net.forward(timings=timings)
    net.backward(timings=timings)
    assert {"conv1", "pool1", "conv2", "pool2"} <= set(timings)


def test_a_deconvolution_joins_too(small_parts):
    layers = lenet_like()
    layers[3] = Deconvolution(name="conv2", bottoms=["pool1"], tops=["conv2"], n_filter=6,
                              kernel=2, stride=2)
    joined, blobs, grads = run(layers, timed=False)
    assert "conv2+pool2" in steps(joined)[0]
    _, blobs_apart, grads_apart = run(layers, timed=True)
    assert (blobs, grads) == (blobs_apart, grads_apart)


@pytest.mark.parametrize("case, forward", [
    # a fused neuron runs between conv1 and pool1; pool1 joins conv2 and pool2 instead
    ("neuron", ["input", "conv1", "pool1+conv2+pool2", "ip1", "loss"]),
    # a mean pool, or a max pool that is not 2x2 tiles, has no parts of its own
    ("mean", ["input", "conv1+pool1", "conv2", "pool2", "ip1", "loss"]),
    ("overlapping", ["input", "conv1+pool1", "conv2", "pool2", "ip1", "loss"]),
])
def test_what_does_not_join(small_parts, case, forward):
    first_conv = {"neuron": "relu"} if case == "neuron" else None
    pool2 = {"mean": {"pool": "mean", "kernel": 2, "stride": 2},
             "overlapping": {"pool": "max", "kernel": 3, "stride": 2}}.get(case)
    joined, blobs, grads = run(lenet_like(first_conv, pool2), timed=False)
    assert steps(joined)[0] == forward
    _, blobs_apart, grads_apart = run(lenet_like(first_conv, pool2), timed=True)
    assert (blobs, grads) == (blobs_apart, grads_apart)


def test_a_blob_read_twice_is_split_and_not_joined(small_parts):
    layers = lenet_like()
    layers.insert(3, Pooling(name="peek", bottoms=["conv1"], tops=["peek"], pool="max",
                             kernel=2, stride=2))
    layers.insert(4, InnerProduct(name="peek_ip", bottoms=["peek"], tops=["peek_ip"], output_dim=3))
    forward = steps(Net("joins", layers, dtype="float32", seed=5))[0]
    assert "conv1" in forward and "pool1" in forward


def test_backward_joins_the_layers_of_a_join_that_have_a_backward(small_parts):
    # conv1 learns nothing, so neither it nor pool1 has a backward to run
    layers = lenet_like({"neuron": "relu",
                         "param": {"weight": {"lr_mult": 0}, "bias": {"lr_mult": 0}}})
    joined, blobs, grads = run(layers, timed=False)
    assert steps(joined) == (["input", "conv1", "pool1+conv2+pool2", "ip1", "loss"],
                             ["loss", "ip1", "conv2+pool2"])
    _, blobs_apart, grads_apart = run(layers, timed=True)
    assert (blobs, grads) == (blobs_apart, grads_apart)


# --- Backend.joined -----------------------------------------------------------------------

def recorder():
    done, lock = [], threading.Lock()

    def work(name):
        def part(index, slot):
            with lock:
                done.append((slot, name, index))
        return part
    return done, work


def by_thread(done):
    threads = {}
    for slot, name, index in done:
        threads.setdefault(slot, []).append((name, index))
    return threads


def test_joined_calls_with_as_many_parts_run_part_by_part():
    backend, (done, work), after = Backend("numpy"), recorder(), []
    with backend.joined():
        backend.parallel(6, work("a"))
        backend.parallel(6, work("b"), then=lambda: after.append(len(done)))
        assert done == []   # held
    assert sorted((name, index) for _, name, index in done) == sorted(
        (name, index) for name in "ab" for index in range(6))
    for sequence in by_thread(done).values():   # b's part i right after a's, on its thread
        for (name, index), (next_name, next_index) in zip(sequence[::2], sequence[1::2]):
            assert (name, next_name, next_index) == ("a", "b", index)
    assert after == [12]


@pytest.mark.parametrize("counts, first_then", [((4, 6), False), ((6, 6), True)])
def test_joined_calls_that_cannot_share_parts_run_one_after_another(counts, first_then):
    backend, (done, work), after = Backend("numpy"), recorder(), []
    with backend.joined():
        backend.parallel(counts[0], work("a"),
                         then=(lambda: after.append(len(done))) if first_then else None)
        backend.parallel(counts[1], work("b"))
    names = [name for _, name, _ in done]
    assert names == ["a"] * counts[0] + ["b"] * counts[1]
    assert after == ([counts[0]] if first_then else [])


def test_an_error_inside_joined_runs_nothing_held():
    backend, (done, work) = Backend("numpy"), recorder()
    with pytest.raises(RuntimeError, match="layer failed"):
        with backend.joined():
            backend.parallel(3, work("a"))
            raise RuntimeError("layer failed")
    assert done == []
    backend.parallel(2, work("b"))   # no longer held
    assert sorted(index for _, _, index in done) == [0, 1]
