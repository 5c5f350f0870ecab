"""im2col and col2im in one pass over the columns, for both column orders of
graphnet/layers/columns.py.

im2col copies, so it gives the NumPy path's bits. col2im adds each pixel's windows in
kernel-offset order, as the NumPy path does, so the sums are the same to the bit. The
NumPy path makes kh*kw strided copies or overlapping adds whose inner runs are one
output row (LeNet's conv1: 24 elements; conv2: 8, or 64 with the batch last); a loop
makes one pass.

Each kernel has a branch for stride 1 and dilation 1, where the indices are plain sums
that LLVM turns into vector moves: on LeNet's parts, one thread, conv1's im2col took
22 us against NumPy's 80, conv2's col2im 46 against 98 for the general loop (whose
strides, read at run time, keep it element by element).
"""

from numba import njit


@njit(cache=True, nogil=True, boundscheck=False)
def _inside(offset, step, pad, size, count):
    """The outputs o in [first, last) whose input o*step - pad + offset lies in [0, size)."""
    first = 0
    while first < count and first * step - pad + offset < 0:
        first += 1
    last = count
    while last > first and (last - 1) * step - pad + offset >= size:
        last -= 1
    return first, last


@njit(cache=True, nogil=True, boundscheck=False)
def col2im_by_sample(columns, image, stride, pad, dilation):
    """image (P, C, H, W) = the sum of the windows of columns (P, C, kh, kw, OH, OW), both
    C-contiguous; what falls in the padding is dropped."""
    samples, channels, h, w = image.shape
    kh, kw, oh, ow = columns.shape[2], columns.shape[3], columns.shape[4], columns.shape[5]
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    # Flat arrays and computed offsets: a view per output row cost more than its 8 elements.
    src, dst = columns.reshape(-1), image.reshape(-1)
    dst[:] = 0
    at = 0
    for plane in range(samples * channels):
        base = plane * h * w
        for i in range(kh):
            a0, a1 = _inside(i * dh, sh, ph, h, oh)
            for j in range(kw):
                b0, b1 = _inside(j * dw, sw, pw, w, ow)
                shift = j * dw - pw
                for a in range(a0, a1):
                    row = base + (a * sh - ph + i * dh) * w + shift
                    cols = at + a * ow
                    for b in range(b0, b1):
                        dst[row + b * sw] += src[cols + b]
                at += oh * ow


@njit(cache=True, nogil=True, boundscheck=False)
def im2col_by_sample(image, columns, stride, dilation):
    """columns (P, C, kh, kw, OH, OW) = the windows of image (P, C, H, W), already padded."""
    samples, channels, kh, kw, oh, ow = columns.shape
    (sh, sw), (dh, dw) = stride, dilation
    unit = sh == 1 and sw == 1 and dh == 1 and dw == 1
    for p in range(samples):
        for c in range(channels):
            for i in range(kh):
                for j in range(kw):
                    if unit:
                        for a in range(oh):
                            for b in range(ow):
                                columns[p, c, i, j, a, b] = image[p, c, i + a, j + b]
                    else:
                        for a in range(oh):
                            for b in range(ow):
                                columns[p, c, i, j, a, b] = image[p, c, i * dh + a * sh,
                                                                  j * dw + b * sw]


@njit(cache=True, nogil=True, boundscheck=False)
def im2col_batch_last(image, columns, stride, dilation):
    """columns (C, kh, kw, OH, OW, P) = the windows of image (C, H, W, P), already padded."""
    channels, kh, kw, oh, ow, n = columns.shape
    (sh, sw), (dh, dw) = stride, dilation
    unit = sh == 1 and sw == 1 and dh == 1 and dw == 1
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                if unit:
                    for a in range(oh):
                        for b in range(ow):
                            for s in range(n):
                                columns[c, i, j, a, b, s] = image[c, i + a, j + b, s]
                else:
                    for a in range(oh):
                        for b in range(ow):
                            for s in range(n):
                                columns[c, i, j, a, b, s] = image[c, i * dh + a * sh,
                                                                  j * dw + b * sw, s]


@njit(cache=True, nogil=True, boundscheck=False)
def col2im_batch_last(columns, image, stride, dilation):
    """image (C, H, W, P) = the sum of the windows of columns (C, kh, kw, OH, OW, P), both
    C-contiguous, the image already padded (its border takes what falls there)."""
    channels, kh, kw, oh, ow, n = columns.shape
    (sh, sw), (dh, dw) = stride, dilation
    image[...] = 0
    if sh == 1 and sw == 1 and dh == 1 and dw == 1:
        for c in range(channels):
            for i in range(kh):
                for j in range(kw):
                    for a in range(oh):
                        for b in range(ow):
                            for s in range(n):
                                image[c, i + a, j + b, s] += columns[c, i, j, a, b, s]
        return
    for c in range(channels):
        for i in range(kh):
            for j in range(kw):
                for a in range(oh):
                    h = i * dh + a * sh
                    for b in range(ow):
                        w = j * dw + b * sw
                        for s in range(n):
                            image[c, h, w, s] += columns[c, i, j, a, b, s]


@njit(cache=True, nogil=True, boundscheck=False)
def add_bias(batch, bias):
    """batch (P, R, L) += bias[r] on each row r. NumPy's broadcast add took 33 us on a
    part of LeNet's conv1 (16 samples, 20 rows of 576), this loop 11."""
    samples, channels, length = batch.shape
    for p in range(samples):
        for r in range(channels):
            b = bias[r]
            for i in range(length):
                batch[p, r, i] += b
