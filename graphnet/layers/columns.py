"""im2col and col2im, sample by sample, for Convolution and Deconvolution.

The columns of images (P, C, H, W) are (P, C, kh, kw, OH, OW): for each sample its own
(C*kh*kw, OH*OW) matrix, so that `W @ columns` is one product per sample, written straight
into the (P, R, OH*OW) rows of an NCHW top with no transpose. On LeNet's shapes these
per-sample products ran as fast as one wide product or faster on one BLAS thread (conv1:
0.36 ms against 0.94 for a batch of 64), and a sample's columns stay in cache.

im2col is kh*kw strided copies, through a zero-bordered copy of the image when padded.
col2im is kh*kw strided adds, or with graphnet[fast] one compiled loop; both add each
pixel's windows in kernel-offset order, so they give the same bits.
"""


class Columns:
    """The geometry of one layer's im2col: image (C, H, W), kernel, stride, pad, dilation,
    and the columns' spatial size (OH, OW); and the order the columns are stored in.

    by_sample: (P, C, kh, kw, OH, OW), a (C*kh*kw, OH*OW) matrix per sample, for one
    product per sample straight into the top; else (C, kh, kw, P, OH, OW), one matrix for
    the part, for one wider product whose rows are then transposed into the top. `view`
    reads either as (P, C, kh, kw, OH, OW), and the copies below work on that view.
    """

    def __init__(self, backend, image, kernel, stride, pad, dilation, out_hw, by_sample):
        self.backend, self.xp = backend, backend.xp
        self.image, self.out_hw = tuple(image), tuple(out_hw)
        self.kernel, self.stride, self.pad, self.dilation = kernel, stride, pad, dilation
        self.by_sample = by_sample
        self.per_sample = image[0] * kernel[0] * kernel[1] * out_hw[0] * out_hw[1]
        self.kernels = backend.kernels
        self._padded = {}
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
        self.windows = [(i, j, (slice(None), slice(None),
                                slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                                slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)))
                        for i in range(kh) for j in range(kw)]
        (ph, pw), (_, h, w) = pad, image
        self.inside = (slice(None), slice(None), slice(ph, ph + h), slice(pw, pw + w))

    def shape(self, samples):
        """The stored columns' shape for `samples` samples."""
        c, (kh, kw), (oh, ow) = self.image[0], self.kernel, self.out_hw
        return (samples, c, kh, kw, oh, ow) if self.by_sample else (c, kh, kw, samples, oh, ow)

    def view(self, columns):
        """Stored columns as (P, C, kh, kw, OH, OW)."""
        return columns if self.by_sample else columns.transpose(3, 0, 1, 2, 4, 5)

    def _scratch(self, use, slot, samples):
        """A padded (P, C, H + 2ph, W + 2pw) image for thread `slot`: for "im2col" its border
        stays zero, for "col2im" it is overwritten, so the two never share one."""
        c, h, w = self.image
        (ph, pw) = self.pad
        padded = self._padded.get((use, slot))
        if padded is None or len(padded) < samples:
            padded = self._padded[use, slot] = self.backend.zeros((samples, c, h + 2 * ph, w + 2 * pw))
        return padded[:samples]

    def im2col(self, x, columns, slot=0):
        """Fill the stored columns with the windows of images x (P, C, H, W)."""
        image, view = x, self.view(columns)
        if self.kernels is not None and x.flags.c_contiguous and columns.flags.c_contiguous:
            strides = tuple(s // columns.itemsize for s in view.strides)
            self.kernels.im2col(x, columns.reshape(-1), strides, view.shape, self.stride,
                                self.pad, self.dilation)
            return
        if any(self.pad):
            image = self._scratch("im2col", slot, len(x))
            image[self.inside] = x
        for i, j, window in self.windows:
            view[:, :, i, j] = image[window]

    def col2im(self, columns, out, slot=0):
        """Write into out (P, C, H, W) the sum of the columns' windows: im2col's adjoint."""
        view = self.view(columns)
        if self.kernels is not None and out.flags.c_contiguous and columns.flags.c_contiguous:
            strides = tuple(s // columns.itemsize for s in view.strides)
            self.kernels.col2im(columns.reshape(-1), strides, view.shape, out, self.stride,
                                self.pad, self.dilation)
            return
        image = self._scratch("col2im", slot, len(out)) if any(self.pad) else out
        image[...] = 0
        for i, j, window in self.windows:
            image[window] += view[:, :, i, j]
        if image is not out:
            out[...] = image[self.inside]
