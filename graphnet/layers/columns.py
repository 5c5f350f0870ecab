"""im2col and col2im for Convolution and Deconvolution, a part of the batch at a time.

The columns of images (P, C, H, W) hold every kernel window, in one of two orders:

- by sample, (P, C, kh, kw, OH, OW): a (C*kh*kw, OH*OW) matrix per sample, so that
  `W @ columns` is one product per sample, written straight into the NCHW top;
- batch last, (C, kh, kw, OH, OW, P): one (C*kh*kw, OH*OW*P) matrix for the part, one
  wider product, whose rows are then transposed into the top. The image is transposed to
  (C, H, W, P) first, so that every window copy moves runs of OW*P numbers, not OW.

Measured on LeNet's shapes, one BLAS thread: conv1 (25 rows, 16 samples a part) ran its
forward in 90 us by sample against 117 us batch last, its weight gradient in 100 against
272; conv2 (500 rows, 8 samples) the other way, 221 against 176 and 284 against 213, and
its col2im took 330 us by sample against about 40 batch last. See Convolution.

im2col is kh*kw strided copies, col2im kh*kw strided adds, or with graphnet[fast] one
compiled loop each (graphnet/kernels/columns.py); both add each pixel's windows in
kernel-offset order, so they give the same bits. Scratch images are per thread slot (graphnet/workers.py).
"""


class Columns:
    """The geometry of one layer's im2col: image (C, H, W), kernel, stride, pad, dilation,
    the columns' spatial size (OH, OW), and their order (`by_sample`, else batch last)."""

    def __init__(self, backend, image, kernel, stride, pad, dilation, out_hw, by_sample):
        self.backend, self.xp = backend, backend.xp
        self.image, self.out_hw = tuple(image), tuple(out_hw)
        self.kernel, self.stride, self.pad, self.dilation = kernel, stride, pad, dilation
        self.by_sample = by_sample
        self.per_sample = image[0] * kernel[0] * kernel[1] * out_hw[0] * out_hw[1]
        self.kernels = backend.kernels
        self._images = {}
        (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
        (ph, pw), (_, h, w) = pad, image
        first = 2 if by_sample else 1   # where the image's (H, W) axes are
        self.windows = []
        for i in range(kh):
            for j in range(kw):
                window = [slice(None)] * 4
                window[first] = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
                window[first + 1] = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
                self.windows.append((i, j, tuple(window)))
        inside = [slice(None)] * 4
        inside[first:first + 2] = slice(ph, ph + h), slice(pw, pw + w)
        self.inside = tuple(inside)

    def shape(self, samples):
        """The columns' shape for `samples` samples."""
        c, (kh, kw), (oh, ow) = self.image[0], self.kernel, self.out_hw
        return (samples, c, kh, kw, oh, ow) if self.by_sample else (c, kh, kw, oh, ow, samples)

    def _scratch(self, use, slot, samples):
        """A padded image for thread `slot`, (P, C, H+2ph, W+2pw) or batch last
        (C, H+2ph, W+2pw, P). For "im2col" its border stays zero; "col2im" sums into it."""
        key = use, slot, samples
        image = self._images.get(key)
        if image is None:
            c, h, w = self.image
            padded = h + 2 * self.pad[0], w + 2 * self.pad[1]
            shape = (samples, c, *padded) if self.by_sample else (c, *padded, samples)
            image = self._images[key] = self.backend.zeros(shape)
        return image

    def im2col(self, x, columns, slot=0):
        """Fill columns with the windows of images x (P, C, H, W)."""
        kernels = self.kernels
        if self.by_sample:
            image = x
            if any(self.pad):
                image = self._scratch("im2col", slot, len(x))
                image[self.inside] = x
            if kernels is not None:
                kernels.im2col_by_sample(image, columns, self.stride, self.dilation)
                return
            for i, j, window in self.windows:
                columns[:, :, i, j] = image[window]
        else:
            image = self._scratch("im2col", slot, len(x))
            image[self.inside] = x.transpose(1, 2, 3, 0)
            if kernels is not None:
                kernels.im2col_batch_last(image, columns, self.stride, self.dilation)
                return
            for i, j, window in self.windows:
                columns[:, i, j] = image[window]

    def col2im(self, columns, out, slot=0):
        """Write into out (P, C, H, W) the sum of the columns' windows: im2col's adjoint."""
        kernels = self.kernels
        if self.by_sample:
            if kernels is not None and out.flags.c_contiguous:
                kernels.col2im_by_sample(columns, out, self.stride, self.pad, self.dilation)
                return
            image = self._scratch("col2im", slot, len(out)) if any(self.pad) else out
            image[...] = 0
            for i, j, window in self.windows:
                image[window] += columns[:, :, i, j]
            if image is not out:
                out[...] = image[self.inside]
        else:
            image = self._scratch("col2im", slot, len(out))
            if kernels is not None:
                kernels.col2im_batch_last(columns, image, self.stride, self.dilation)
            else:
                image[...] = 0
                for i, j, window in self.windows:
                    image[window] += columns[:, i, j]
            out[...] = image[self.inside].transpose(3, 0, 1, 2)
