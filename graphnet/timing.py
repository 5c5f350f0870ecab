"""`graphnet time`: where a training iteration spends its time, layer by layer (like `caffe time`)."""

import time


def time_net(net, iterations=50, warmup=5):
    """Average forward and backward milliseconds per layer over `iterations` forward+backward
    passes (after `warmup` untimed ones), and the whole pass timed without per-layer syncs.

    Returns (rows, total_ms, batch): rows are (layer name, type, forward ms, backward ms).
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
    batch = net.blobs[sources[0].tops[0]].shape[0] if sources else 1
    return rows, total_ms, batch


def describe_timing(net, iterations=50):
    rows, total_ms, batch = time_net(net, iterations)
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
                 f"{1000 * batch / total_ms:,.0f} images per second")
    return "\n".join(lines)
