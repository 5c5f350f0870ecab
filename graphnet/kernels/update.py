"""Momentum SGD's step with L2 weight decay in one pass over the parameters.

The NumPy path (graphnet/solver/methods.py and update.py) makes six passes over arrays the
size of the net (w*decay, g += it, g *= rate, v *= momentum, v += g, w -= v): LeNet's 431,080
parameters took 0.22 ms, bound by memory. One loop reads w, g and v once: 0.10 ms. One call
does every piece (graphnet/solver/update.py): in a training step, where the caches are cold,
LeNet's 14 pieces took 0.28 ms as 10 calls and NumPy's passes for the 4 small ones. Each
element goes through the same float32 operations in the same order, each rounded as NumPy
rounds it (numba does not fuse a multiply and an add), so the numbers are the same bits.
"""

from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def sgd_step(data, grad, history, bounds, rates, momentum, decays, decayed):
    """Over each piece p, elements bounds[p] to bounds[p + 1]: g = (g + decays[p]*w) *
    rates[p] (the decay only where decayed[p]); v = momentum*v + g; w -= v. All arrays
    flat and of one dtype, but bounds (int64) and decayed (bool); momentum a number."""
    for p in range(rates.shape[0]):
        a, b = bounds[p], bounds[p + 1]
        _piece(data[a:b], grad[a:b], history[a:b], rates[p], momentum, decays[p], decayed[p])


@njit(cache=True, nogil=True, boundscheck=False)
def _piece(data, grad, history, rate, momentum, decay, decays):
    # A loop of its own, with its rate and decay as numbers: LLVM vectorises it (one loop
    # over the pieces that read them from arrays ran 3.5x slower).
    for i in range(data.shape[0]):
        g = grad[i]
        if decays:
            g = g + data[i] * decay
        g = g * rate
        v = history[i] * momentum + g
        grad[i] = g
        history[i] = v
        data[i] = data[i] - v
