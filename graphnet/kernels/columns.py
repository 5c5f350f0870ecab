"""col2im sample by sample: one pass over the columns, padding included.

Columns are read as (P, C, kh, kw, OH, OW), stored in either of the two orders of
graphnet/layers/columns.py, and images are (P, C, H, W), C-contiguous; what falls
in the padding is dropped. Each pixel adds its windows in kernel-offset order, as
graphnet/layers/columns.py's NumPy path does, so the sums are the same to the bit. The
loop indexes flat arrays by computed offsets: a view per output row (as x[s, c, y]) cost
more than LeNet's 8-element rows. (im2col stays NumPy's: its kh*kw strided copies ran
twice as fast as a compiled loop here.)
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
def col2im(storage, strides, shape, image, stride, pad, dilation):
    """image = the sum of the column windows. The columns are the flat `storage` read as
    a (P, C, kh, kw, OH, OW) array with these element `strides` (either layout of
    graphnet/layers/columns.py), OW's stride 1."""
    samples, channels, h, w = image.shape
    kh, kw, oh, ow = shape[2], shape[3], shape[4], shape[5]
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    dst = image.reshape(-1)
    dst[:] = 0
    for s in range(samples):
        for c in range(channels):
            base = (s * channels + c) * h * w
            for i in range(kh):
                a0, a1 = _inside(i * dh, sh, ph, h, oh)
                for j in range(kw):
                    b0, b1 = _inside(j * dw, sw, pw, w, ow)
                    shift = j * dw - pw
                    at = s * strides[0] + c * strides[1] + i * strides[2] + j * strides[3]
                    for a in range(a0, a1):
                        row = base + (a * sh - ph + i * dh) * w + shift
                        cols = at + a * strides[4]
                        if sw == 1:
                            for b in range(b0, b1):
                                dst[row + b] += storage[cols + b]
                        else:
                            for b in range(b0, b1):
                                dst[row + b * sw] += storage[cols + b]


@njit(cache=True, nogil=True, boundscheck=False)
def im2col(x, storage, strides, shape, stride, pad, dilation):
    """Fill the flat `storage`, read as (P, C, kh, kw, OH, OW) with these element
    `strides`, with the windows of images x (P, C, H, W); zeros where they reach the padding."""
    samples, channels, h, w = x.shape
    kh, kw, oh, ow = shape[2], shape[3], shape[4], shape[5]
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    src = x.reshape(-1)
    for s in range(samples):
        for c in range(channels):
            base = (s * channels + c) * h * w
            for i in range(kh):
                a0, a1 = _inside(i * dh, sh, ph, h, oh)
                for j in range(kw):
                    b0, b1 = _inside(j * dw, sw, pw, w, ow)
                    shift = j * dw - pw
                    at = s * strides[0] + c * strides[1] + i * strides[2] + j * strides[3]
                    for a in range(oh):
                        out = at + a * strides[4]
                        if a < a0 or a >= a1:
                            for b in range(ow):
                                storage[out + b] = 0
                            continue
                        row = base + (a * sh - ph + i * dh) * w + shift
                        for b in range(b0):
                            storage[out + b] = 0
                        if sw == 1:
                            for b in range(b0, b1):
                                storage[out + b] = src[row + b]
                        else:
                            for b in range(b0, b1):
                                storage[out + b] = src[row + b * sw]
                        for b in range(b1, ow):
                            storage[out + b] = 0
