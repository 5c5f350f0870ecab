"""Compiled loops for the NumPy backend, where NumPy cannot avoid slow strided passes.

Loaded by the backend only when numba is installed (`pip install graphnet[fast]`) and
GRAPHNET_KERNELS is not 0; without them every layer runs its plain `xp` code. The two
give the same results to the bit, but for the sign of some zeros (tests/test_kernels.py). Each kernel is single-threaded: OpenBLAS's threads
already hold the cores during the GEMMs, and a second thread pool spinning beside them
made whole steps slower on a 2-core machine. Compiled on first use per dtype and cached
in __pycache__.

Why these two: a max-pool's windows are interleaved with a stride of 2 in memory, so
NumPy runs each of its passes element by element (one LeNet step spent ~3.8 ms in
pooling); col2im's 25 overlapping strided adds read the whole column matrix 25 times
in slices. A loop does each in one pass.
"""

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


@njit(cache=True, nogil=True, boundscheck=False)
def col2im_batch_last(columns, image, stride, dilation):
    """image = the sum of the column windows (im2col's adjoint), image zeroed first.

    columns are (C, kh, kw, OH, OW, N) and image (C, H, W, N), the batch last and
    contiguous. Each pixel adds its windows in kernel-offset order, as the NumPy path
    does, so the sums are the same to the bit.
    """
    channels, kh, kw, oh, ow, n = columns.shape
    (sh, sw), (dh, dw) = stride, dilation
    image[...] = 0
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                for a in range(oh):
                    h = i * dh + a * sh
                    for b in range(ow):
                        w = j * dw + b * sw
                        for s in range(n):
                            image[c, h, w, s] += columns[c, i, j, a, b, s]
