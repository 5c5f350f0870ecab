"""col2im for batch-last convolutions: one pass over the columns."""

from numba import njit


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
