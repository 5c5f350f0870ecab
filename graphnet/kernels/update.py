"""Momentum SGD's step with L2 weight decay in one pass over the parameters.

The NumPy path (graphnet/solver/methods.py and update.py) makes six passes over arrays the
size of the net (w*decay, g += it, g *= rate, v *= momentum, v += g, w -= v): LeNet's 431,080
parameters took 0.22 ms, bound by memory. One loop reads w, g and v once: 0.10 ms. Each
element goes through the same float32 operations in the same order, each rounded as NumPy
rounds it (numba does not fuse a multiply and an add), so the numbers are the same bits.
"""

from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def sgd_step(data, grad, history, rate, momentum, decay, decays):
    """g = (g + decay*w) * rate (the decay only if `decays`); v = momentum*v + g; w -= v.
    All arrays flat and of one dtype; rate, momentum and decay numbers of that dtype."""
    for i in range(data.shape[0]):
        g = grad[i]
        if decays:
            g = g + data[i] * decay
        g = g * rate
        v = history[i] * momentum + g
        grad[i] = g
        history[i] = v
        data[i] = data[i] - v
