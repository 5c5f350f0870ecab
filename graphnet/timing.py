"""`graphnet time`: where a training iteration spends its time, layer by layer (like `caffe time`)."""

import math
import time


def time_net(net, iterations=50, warmup=5):
    """Average forward and backward milliseconds per layer over `iterations` forward+backward
    passes (after `warmup` untimed ones), and the whole pass timed without per-layer syncs.

    Returns (rows, total_ms, batch, unit): rows are (layer name, type, forward ms, backward ms);
    batch counts the samples of one pass, in `unit` (images, or steps of a sequence).
    """
    for _ in range(warmup):
        net.forward_backward()
    timings = {}
    for _ in range(iterations):
        net.clear_param_diffs()
        net.forward(timings=timings)
        net.backward(timings=timings)
    rows = [(layer.name, type(layer).__name__,
             1000 * timings.get(layer.name, [0, 0])[0] / iterations,
             1000 * timings.get(layer.name, [0, 0])[1] / iterations) for layer in net.layers]
    net.backend.synchronize()
    start = time.perf_counter()
    for _ in range(iterations):
        net.forward_backward()
    net.backend.synchronize()
    total_ms = 1000 * (time.perf_counter() - start) / iterations
    sources = [l for l in net.layers if l.is_source and l.tops]
    if not sources:
        return rows, total_ms, 1, "passes"
    source = sources[0]
    batch = math.prod(net.blobs[source.tops[0]].shape[:source.sample_axes])
    return rows, total_ms, batch, source.sample_name


def describe_timing(net, iterations=50):
    rows, total_ms, batch, unit = time_net(net, iterations)
    width = max(len(r[0]) for r in rows) if rows else 5
    kind = max(len(r[1]) for r in rows) if rows else 4
    lines = [f"net '{net.name}', {net.backend.name} {net.backend.dtype.name}, batch {batch}, "
             f"average of {iterations} iterations",
             f"{'layer':<{width}}  {'type':<{kind}}  {'forward ms':>10}  {'backward ms':>11}"]
    for name, layer_type, fwd, bwd in rows:
        lines.append(f"{name:<{width}}  {layer_type:<{kind}}  {fwd:>10.3f}  {bwd:>11.3f}")
    fwd, bwd = sum(r[2] for r in rows), sum(r[3] for r in rows)
    lines.append(f"{'sum':<{width}}  {'':<{kind}}  {fwd:>10.3f}  {bwd:>11.3f}")
    lines.append(f"forward+backward: {total_ms:.3f} ms per iteration, "
                 f"{1000 * batch / total_ms:,.0f} {unit} per second")
    return "\n".join(lines)
