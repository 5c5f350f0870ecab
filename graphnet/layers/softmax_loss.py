"""SoftmaxLoss: cross-entropy of softmax scores against class labels (Caffe's SoftmaxWithLoss).

Also the pieces shared by the layers that read (class scores, class labels): the label
shape check, the class-label view of both arrays, and the per-position weights.
"""

import math

from ..spec import Field, choice, integer, list_of, number, optional
from ..workers import split
from .base import Loss, as_indices, register

NORMALIZATIONS = ("valid", "batch_size", "full", "none")


def check_class_labels(layer, bottom_shapes):
    """Setup for (scores with classes along `layer.axis`, labels): returns the axis and C.

    The label is the prediction's shape without the class axis, or with it of size 1.
    """
    pred, label = (tuple(s) for s in bottom_shapes[:2])
    axis = layer.axis + len(pred) if layer.axis < 0 else layer.axis
    if not 0 < axis < len(pred):
        raise layer.error(f"must name a class axis of prediction '{layer.bottoms[0]}' of shape "
                          f"{pred} other than the batch axis 0, got {layer.axis}", "axis")
    without = pred[:axis] + pred[axis + 1:]
    if label not in (without, pred[:axis] + (1,) + pred[axis + 1:]):
        raise layer.error(f"label '{layer.bottoms[1]}' is {label}, but prediction "
                          f"'{layer.bottoms[0]}' is {pred} with classes along axis {axis}: "
                          f"the label must be {without} or {pred[:axis] + (1,) + pred[axis + 1:]}",
                          "bottoms")
    return axis, pred[axis]


def class_view(layer, scores, labels):
    """Scores as (outer, C, inner), labels as integers (outer, inner), and the valid positions.

    Ignored positions get label 0 so they can still index; without an ignore_label every
    position is valid and `valid` is None. A label that is not a whole number 0..C-1
    (12, -1, 3.5, nan) is an error.
    """
    xp, axis = layer.xp, layer.class_axis
    x = scores.reshape(math.prod(scores.shape[:axis]), scores.shape[axis], -1)
    values = labels.reshape(x.shape[0], x.shape[2])
    y, bad = as_indices(xp, values, x.shape[1])
    valid = None
    if layer.ignore_label is not None:  # compared before the cast: 255.5 is not the ignored 255
        valid = values != layer.ignore_label
        bad &= valid
    if bad.any():
        raise layer.error(f"labels must be class indices 0 to {x.shape[1] - 1}, got "
                          f"{float(values[bad][0]):g} in '{layer.bottoms[1]}'", "bottoms")
    if valid is None:
        return x, y, None
    return x, xp.where(valid, y, 0), valid


class ClassLoss(Loss):
    """A loss on class scores and labels: per position, w[y] / normalizer (0 if ignored)."""
    axis = Field(integer(), 1, "the prediction's axis that holds the classes")
    class_weights = Field(optional(list_of(number(min=0))), None,
                          "one weight per class: scales the loss of the positions with that label")
    ignore_label = Field(optional(integer()), None,
                         "positions with this label add nothing to the loss and are not counted")
    normalization = Field(choice(*NORMALIZATIONS), "valid",
                          "divide the sum by: valid (non-ignored positions), batch_size, "
                          "full (all positions) or none")
    # Set by graphnet.parallel on each of K processes when labels may be ignored: count ->
    # the normalizer, from the valid positions of all K (those of one process at batch K*B).
    valid_normalizer = None

    def setup(self, bottom_shapes):
        self.check_batch(bottom_shapes)
        self.class_axis, n_class = check_class_labels(self, bottom_shapes)
        if self.class_weights is not None and len(self.class_weights) != n_class:
            raise self.error(f"needs one weight per class: prediction '{self.bottoms[0]}' "
                             f"{tuple(bottom_shapes[0])} has {n_class} classes along axis "
                             f"{self.class_axis}, got {len(self.class_weights)} weights",
                             "class_weights")
        self._class_weights = (None if self.class_weights is None
                               else self.backend.asarray(self.class_weights))
        self._uniform_of, self._index_of, self._parts_of = None, None, None
        return [()]

    def position_weights(self, scores, labels):
        """(x, y, w): the class view of scores and labels, and each position's weight."""
        x, y, valid = class_view(self, scores, labels)
        if valid is None and self._class_weights is None and self.valid_normalizer is None:
            # The same weights at every pass: made once (as below, for the same bits).
            if self._uniform_of != scores.shape:
                self._uniform_of = scores.shape
                self._uniform = self._weights(scores, y, self.xp.ones(y.shape, bool))
            return x, y, self._uniform
        return x, y, self._weights(scores, y, self.xp.ones(y.shape, bool) if valid is None else valid)

    def pick(self, x, y):
        """x[i, y[i, k], k] for each position (i, k) of the class view x (outer, C, inner)."""
        if self._index_of != x.shape:   # index arrays kept: a step makes no new ones
            xp, (outer, _, inner) = self.xp, x.shape
            self._index_of = x.shape
            self._index = xp.arange(outer)[:, None], xp.arange(inner)[None, :]
        outer, inner = self._index
        return x[outer, y, inner]

    def _weights(self, scores, y, valid):
        dtype = scores.dtype
        w = valid.astype(dtype) if self._class_weights is None else self._class_weights[y] * valid
        if self.normalization == "valid" and self.valid_normalizer is not None:
            w /= dtype.type(self.valid_normalizer(int(valid.sum())))
        elif self.normalization == "valid":
            w /= self.xp.maximum(valid.sum(), 1).astype(dtype)
        elif self.normalization == "batch_size":
            w /= dtype.type(scores.shape[0])
        elif self.normalization == "full":
            w /= dtype.type(y.size)
        return w


@register
class SoftmaxLoss(ClassLoss):
    """-log softmax(x)[y] summed over positions, weighted by class and normalized.

    Prediction (N, C, ...) holds scores with the classes along `axis`; the label, shaped
    (N, ...) or (N, 1, ...), holds class indices 0..C-1. Same as Softmax followed by
    MultinomialLogisticLoss, but stable for any scores.

        - {name: loss, type: SoftmaxLoss, bottoms: [ip2, label], ignore_label: 255,
           class_weights: [1, 1, 4]}
    """

    part_elements = 1 << 16   # scores per part, where the positions are cut for the threads

    def forward(self, bottoms, tops):
        xp = self.xp
        x, self._y, self._w = self.position_weights(bottoms[0].data, bottoms[1].data)
        rows, log_prob, prob = self._parts(x), self._log_prob, self._prob

        def part(index, slot):
            # log softmax = x - max - log sum exp(x - max): no overflow, no log(0)
            scores = x[rows[index]]
            shifted = scores - scores.max(axis=1, keepdims=True)
            log_sum = xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
            xp.subtract(shifted, log_sum, out=log_prob[rows[index]])
            xp.exp(log_prob[rows[index]], out=prob[rows[index]])
        self.backend.parallel(len(rows), part)
        tops[0].data[...] = -(self._w * self.pick(log_prob, self._y)).sum()

    def backward(self, tops, propagate_down, bottoms):
        if not propagate_down[0]:
            return
        xp, rows, prob, y = self.xp, self._rows, self._prob, self._y
        diff = bottoms[0].diff.reshape(prob.shape)   # made here, before the threads
        scale = self._w[:, None] * tops[0].diff      # times the loss weight
        classes = xp.arange(prob.shape[1])[:, None]

        def part(index, slot):
            # dL/dx_c = w[y] (softmax_c - [c == y]) / normalizer
            r = rows[index]
            xp.subtract(prob[r], classes == y[r][:, None], out=diff[r])
            diff[r] *= scale[r]
        self.backend.parallel(len(rows), part)

    def _parts(self, x):
        """The positions' rows in parts (a sequence model's 3,200 positions of 84 scores:
        4 parts; LeNet's 64 x 10: one), and buffers for log softmax and softmax."""
        if self._parts_of != x.shape:
            self._parts_of = x.shape
            count = 1 if self.backend.launches else max(1, min(4, x.size // self.part_elements))
            self._rows = split(len(x), count)
            self._log_prob, self._prob = self.backend.empty(x.shape), self.backend.empty(x.shape)
        return self._rows
