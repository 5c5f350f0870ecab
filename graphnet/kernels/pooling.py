"""2x2 max pooling and its gradient, with the position of each max kept."""

from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def max_pool_2x2(x, y, which):
    """y = the max of each 2x2 tile of x, `which` = its position in the tile (0..3,
    row-major; the first on ties; the first NaN, if any, as np.maximum propagates NaN).

    x is (R, 2, W) with R = N*C*OH: a row pair of the image; y and which are (R, W/2).
    """
    rows, _, width = x.shape
    for r in range(rows):
        for o in range(width // 2):
            v0, v1 = x[r, 0, 2 * o], x[r, 0, 2 * o + 1]
            v2, v3 = x[r, 1, 2 * o], x[r, 1, 2 * o + 1]
            # Conditional expressions, not `if` blocks: they compile to selects, where a
            # branch on the data would be mispredicted about half the time (2.8 ms, not 0.35).
            best, k = v0, 0
            c = v1 > best
            best = v1 if c else best
            k = 1 if c else k
            c = v2 > best
            best = v2 if c else best
            k = 2 if c else k
            c = v3 > best
            best = v3 if c else best
            k = 3 if c else k
            total = v0 + v1 + v2 + v3
            if total != total:   # rarely taken: a NaN in the tile (or inf - inf)
                for i, v in enumerate((v0, v1, v2, v3)):
                    if v != v:
                        best, k = v, i
                        break
            y[r, o] = best
            which[r, o] = k


@njit(cache=True, nogil=True, boundscheck=False)
def max_unpool_2x2(dy, which, dx):
    """dx = dy sent to the position `which` of its 2x2 tile, zeros elsewhere: the
    gradient of max_pool_2x2. dy and which are (R, W/2), dx is (R, 2, W)."""
    rows, _, width = dx.shape
    dx[...] = 0
    for r in range(rows):
        for o in range(width // 2):
            k = which[r, o]
            dx[r, k >> 1, 2 * o + (k & 1)] = dy[r, o]
