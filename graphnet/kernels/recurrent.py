"""One LSTM time step's element-wise maths in a few passes, and Embed's scatter-add.

The plain path (graphnet/layers/lstm.py) spends ~17 NumPy calls on each step's small
(N, 4H) arrays, forward and again backward, and a call costs microseconds whatever its
size; 50 steps, two layers. These loops do the same float operations, in the same order
on each element, so the results are the plain path's to the bit
(tests/test_kernels_recurrent.py).

The exponentials and tanh stay in NumPy, between the loops: numba's math.exp and
math.tanh are libm's, scalar, 5x (exp, 32K floats: 76 us against 15) and 80x (tanh)
slower than NumPy's SIMD loops here, and round differently (float32: 40 % of exp's
results and a third of tanh's differ, by up to 2 and 3 ulp). Every constant is made in
the arrays' dtype (`one = z.dtype.type(1)`): a Python literal would turn float32
arithmetic into float64 and round differently. Each row is cut into 1-D slices first,
one per gate: LLVM then vectorizes the inner loop; indexing the 2-D arrays directly
left it scalar (26 us a backward step, not 7).
"""

from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def lstm_pre_activation(z, bias, propagated, scale):
    """z = clip((z + bias + propagated) * scale, -80, 80), in place: the gates'
    pre-activations from the input part z and the recurrent product, made the exponent
    that activate() takes (NaN stays NaN, as in np.clip)."""
    lo, hi = z.dtype.type(-80), z.dtype.type(80)
    rows, width = z.shape
    for r in range(rows):
        zr, pr = z[r], propagated[r]
        for k in range(width):
            v = (zr[k] + bias[k] + pr[k]) * scale[k]
            zr[k] = lo if v < lo else (hi if v > hi else v)


# error_model="numpy": a division by zero is IEEE's inf, not Python's ZeroDivisionError,
# whose check on every element kept the loop from being vectorized (28 us a step, not 5).
@njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")
def lstm_cell(z, c_prev, cell):
    """z holds e^exponent for [i, f, o, g] (N, 4H); makes them [s, s, s, tanh] in place
    (s = 1 / (1 + e), tanh = 2 s - 1) and writes cell = f c_prev + i g."""
    one, two = z.dtype.type(1), z.dtype.type(2)
    rows, h = cell.shape
    for r in range(rows):
        sig, g = z[r, :3 * h], z[r, 3 * h:]
        i, f, cp, c = z[r, :h], z[r, h:2 * h], c_prev[r], cell[r]
        for k in range(3 * h):
            sig[k] = one / (sig[k] + one)
        for j in range(h):
            g[j] = one / (g[j] + one) * two - one
        for j in range(h):
            c[j] = f[j] * cp[j] + i[j] * g[j]


@njit(cache=True, nogil=True, boundscheck=False)
def lstm_output(z, cell, cell_tanh, keep, out, h_next, c_next):
    """out = o tanh(cell); and the next step's starting state, reset where keep is 0:
    h_next = out keep, c_next = cell keep."""
    rows, h = cell.shape
    for r in range(rows):
        o, c, tc, k = z[r, 2 * h:3 * h], cell[r], cell_tanh[r], keep[r]
        hr, hn, cn = out[r], h_next[r], c_next[r]
        for j in range(h):
            hidden = o[j] * tc[j]
            hr[j] = hidden
            hn[j] = hidden * k
            cn[j] = c[j] * k


@njit(cache=True, nogil=True, boundscheck=False)
def lstm_step_back(z, c_prev, cell_tanh, top_diff, keep_after, keep, dh, dc, diff, row):
    """One step of the LSTM's backward, from the activated gates z (N, 4H).

    dh comes in as the recurrent product of the step after (gate_diff[t+1] U) and leaves
    as d loss / d h_t = dh keep_after + top_diff. dc comes in as d loss / d c_t through
    the step after and leaves as that step's carry, (dc + dh o tanh'(c_t)) f keep.
    diff gets d loss / d gate pre-activations (s' = (1 - s) s, tanh' = 1 - g^2); it may be
    z itself: each row of z is copied to `row` (4H) before its diff is written, which also
    keeps the loop vectorized (LLVM gives up on arrays that overlap).
    """
    one = z.dtype.type(1)
    rows, h = dh.shape
    for r in range(rows):
        row[:] = z[r]
        zi, zf, zo, zg = row[:h], row[h:2 * h], row[2 * h:3 * h], row[3 * h:]
        di, df, do, dg = diff[r, :h], diff[r, h:2 * h], diff[r, 2 * h:3 * h], diff[r, 3 * h:]
        cp, tc, top, dhr, dcr = c_prev[r], cell_tanh[r], top_diff[r], dh[r], dc[r]
        after, k = keep_after[r], keep[r]
        for j in range(h):
            i, f, o, g, th = zi[j], zf[j], zo[j], zg[j], tc[j]
            d_h = dhr[j] * after + top[j]
            d_c = dcr[j] + d_h * ((one - th * th) * o)
            di[j] = (one - i) * i * g * d_c
            df[j] = (one - f) * f * cp[j] * d_c
            do[j] = (one - o) * o * th * d_h
            dg[j] = (one - g * g) * i * d_c
            dhr[j] = d_h
            dcr[j] = d_c * (f * k)


@njit(cache=True, nogil=True, boundscheck=False)
def add_rows(table, index, rows):
    """table[index[k]] += rows[k] for each k in order: np.add.at(table, index, rows)'s sums,
    in its order, in one pass and no buffering."""
    width = table.shape[1]
    for k in range(len(index)):
        to, add = table[index[k]], rows[k]
        for j in range(width):
            to[j] += add[j]
