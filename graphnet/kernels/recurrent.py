"""One LSTM time step's element-wise maths in a few passes, and Embed's scatter-add.

The plain path (graphnet/layers/lstm.py) spends ~17 NumPy calls on each step's small
(N, 4H) arrays, forward and again backward, and a call costs microseconds whatever its
size; 50 steps, two layers. These loops do the same float operations, in the same order
on each element, so the results are the plain path's to the bit (tests/test_kernels_recurrent.py).
The exponentials and tanh stay in NumPy, between the loops: NumPy's SIMD exp and tanh
are both faster than libm's scalar expf and tanhf that numba calls, and round differently
from them. Every constant is made in the arrays' dtype (`one = z.dtype.type(1)`): a
Python literal would turn float32 arithmetic into float64 and round differently.
"""

from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def lstm_pre_activation(z, propagated, scale):
    """z = clip((z + propagated) * scale, -80, 80), in place: the gates' pre-activations,
    given the recurrent product, made the exponent that activate() takes (NaN stays NaN,
    as in np.clip)."""
    lo, hi = z.dtype.type(-80), z.dtype.type(80)
    rows, width = z.shape
    for r in range(rows):
        for k in range(width):
            v = (z[r, k] + propagated[r, k]) * scale[k]
            z[r, k] = lo if v < lo else (hi if v > hi else v)


@njit(cache=True, nogil=True, boundscheck=False)
def lstm_cell(z, c_prev, cell):
    """z holds e^exponent for [i, f, o, g] (N, 4H); makes them [s, s, s, tanh] in place
    (s = 1 / (1 + e), tanh = 2 s - 1) and writes cell = f c_prev + i g."""
    one, two = z.dtype.type(1), z.dtype.type(2)
    rows, h = cell.shape
    for r in range(rows):
        for k in range(3 * h):
            z[r, k] = one / (z[r, k] + one)
        for k in range(3 * h, 4 * h):
            z[r, k] = one / (z[r, k] + one) * two - one
        for j in range(h):
            cell[r, j] = z[r, h + j] * c_prev[r, j] + z[r, j] * z[r, 3 * h + j]


@njit(cache=True, nogil=True, boundscheck=False)
def lstm_output(z, cell, cell_tanh, keep, out, h_next, c_next):
    """out = o tanh(cell); and the next step's starting state, reset where keep is 0:
    h_next = out keep, c_next = cell keep."""
    rows, h = cell.shape
    for r in range(rows):
        for j in range(h):
            hidden = z[r, 2 * h + j] * cell_tanh[r, j]
            out[r, j] = hidden
            h_next[r, j] = hidden * keep[r]
            c_next[r, j] = cell[r, j] * keep[r]


@njit(cache=True, nogil=True, boundscheck=False)
def lstm_step_back(z, c_prev, cell_tanh, top_diff, keep_after, keep, dh, dc, diff):
    """One step of the LSTM's backward, from the activated gates z (N, 4H).

    dh comes in as the recurrent product of the step after (gate_diff[t+1] U) and leaves
    as d loss / d h_t: dh keep_after + top_diff. dc comes in as d loss / d c_t through the
    next cell and leaves as d loss / d c'_{t-1} * ... = (dc + dh o tanh'(c_t)) f keep.
    diff gets d loss / d gate pre-activations: s' = (1 - s) s, tanh' = 1 - g^2.
    """
    one = z.dtype.type(1)
    rows, h = dh.shape
    for r in range(rows):
        for j in range(h):
            i, f, o, g = z[r, j], z[r, h + j], z[r, 2 * h + j], z[r, 3 * h + j]
            th = cell_tanh[r, j]
            d_h = dh[r, j] * keep_after[r] + top_diff[r, j]
            d_c = dc[r, j] + d_h * ((one - th * th) * o)
            diff[r, j] = (one - i) * i * g * d_c
            diff[r, h + j] = (one - f) * f * c_prev[r, j] * d_c
            diff[r, 2 * h + j] = (one - o) * o * th * d_h
            diff[r, 3 * h + j] = (one - g * g) * i * d_c
            dh[r, j] = d_h
            dc[r, j] = d_c * (f * keep[r])


@njit(cache=True, nogil=True, boundscheck=False)
def add_rows(table, index, rows):
    """table[index[k]] += rows[k] for each k in order: np.add.at(table, index, rows)'s sums,
    in its order, in one pass and no buffering."""
    width = table.shape[1]
    for k in range(len(index)):
        row = index[k]
        for j in range(width):
            table[row, j] += rows[k, j]
