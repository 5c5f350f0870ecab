"""Image files (PNG, JPEG...) as a batch for a net's input, read with Pillow when installed.

Each image is made grayscale or RGB to match the input's channels, resized to its height
and width, and laid out as (C, H, W) (or (H, W) for an input without channels). Pixels are
0 to 255, times `pixel_scale` (1: the bytes, as `graphnet data mnist` and Caffe store them);
then the data layer's own transform, (x - mean) * scale as HDF5Data applies it in the test
phase (a mean per channel, or a mean image cut at the centre when the layer crops), so an
image reaches the net as the test data did.
"""

import numpy as np

from ..errors import GraphnetError
from .hdf5_reader import read_dataset

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def is_image(path):
    return str(path).lower().endswith(IMAGE_SUFFIXES)


def read_images(paths, shape, layer=None, pixel_scale=1.0, dtype=np.float32):
    """(len(paths), *shape) array of the images at `paths` for an input of per-sample `shape`;
    `layer` is the data layer the input replaced (its `mean` and `scale` are applied)."""
    try:
        from PIL import Image
    except ImportError:
        raise GraphnetError("reading images needs Pillow: pip install pillow", field="--input") from None
    shape = tuple(shape)
    if len(shape) == 3 and shape[0] in (1, 3):
        channels, (height, width) = shape[0], shape[1:]
    elif len(shape) == 2:
        channels, (height, width) = None, shape
    else:
        raise GraphnetError(f"images need an input of shape (1 or 3, H, W) or (H, W), but one "
                            f"sample is {shape}", field="--input")
    batch = np.empty((len(paths), *shape), dtype)
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                image = image.convert("RGB" if channels == 3 else "L")
                if image.size != (width, height):
                    image = image.resize((width, height), Image.BILINEAR)
                pixels = np.asarray(image, dtype)
        except OSError as err:
            raise GraphnetError(f"cannot read this image: {err.strerror or err}", field="--input",
                                path=str(path)) from None
        batch[i] = pixels.transpose(2, 0, 1) if channels == 3 else (
            pixels[None] if channels == 1 else pixels)
    batch *= pixel_scale
    return as_the_layer_serves(batch, layer, shape, dtype)


def as_the_layer_serves(samples, layer, shape, dtype=np.float32):
    """Samples as a data layer's files hold them, transformed as the layer serves them in the
    test phase: cut at the centre to `shape` (a layer that crops), then (x - mean) * scale."""
    samples = np.asarray(samples)
    if samples.shape[1:] != tuple(shape) and samples.ndim >= 3 and samples.shape[1:-2] == tuple(shape[:-2]):
        samples = _centre(samples, shape)
    batch = samples.astype(dtype)  # a copy: the caller's array is never changed
    mean, scale = getattr(layer, "mean", None), getattr(layer, "scale", None)
    if isinstance(mean, str):
        mean = _centre(read_dataset(mean, "mean").astype(dtype), shape)
    elif isinstance(mean, list):  # one per channel
        mean = np.array(mean, dtype).reshape(-1, *[1] * (len(shape) - 1))
    if mean is not None:
        batch -= mean
    if scale is not None:
        batch *= scale
    return batch


def _centre(mean, shape):
    """A mean image larger than the input (its layer crops) cut at the centre, as the test
    phase cuts the samples."""
    if mean.ndim < 2 or len(shape) < 2 or mean.shape[-2:] == tuple(shape[-2:]):
        return mean
    (height, width), (size_h, size_w) = mean.shape[-2:], shape[-2:]
    top, left = max(0, (height - size_h) // 2), max(0, (width - size_w) // 2)
    return mean[..., top:top + size_h, left:left + size_w]
