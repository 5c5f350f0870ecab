"""Classify a few MNIST test digits with a trained LeNet.

Train first (`graphnet data mnist && graphnet solve netdefs/mnist.yaml`), then:

    python examples/classify_digits.py [SNAPSHOT] [COUNT]

SNAPSHOT defaults to the newest snapshot of the netdef's run (snapshots/mnist/).
"""

import sys

import h5py
import numpy as np

import graphnet
from graphnet.io.snapshot import newest_snapshot


def main(snapshot=None, count=8):
    snapshot = snapshot or newest_snapshot("snapshots/mnist")
    if snapshot is None:
        sys.exit("no snapshot in snapshots/mnist: train first (graphnet solve netdefs/mnist.yaml)")
    net = graphnet.load("netdefs/mnist.yaml", snapshot)
    with h5py.File("data/mnist/test.h5") as f:
        images, labels = f["data"][:count], f["label"][:count, 0].astype(int)
    # The file holds the bytes; the net's input is what its data layer serves: scale 0.00390625.
    images = images * np.float32(0.00390625)
    probs = net(images)                      # (count, 10): the Softmax after ip2
    for image, label, p in zip(images, labels, probs):
        guess = int(p.argmax())
        print(sketch(image[0]))
        print(f"label {label}, predicted {guess} with probability {p[guess]:.4f}"
              + ("" if guess == label else "  <- wrong") + "\n")


def sketch(image):
    """A 28 x 28 digit as 14 lines of text, two pixel rows to a line."""
    shades = " .:#"
    rows = image[::2, ::1].clip(0, 0.999)
    return "\n".join("".join(shades[int(v * len(shades))] for v in row) for row in rows)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None, int(sys.argv[2]) if len(sys.argv) > 2 else 8)
