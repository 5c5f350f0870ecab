"""Accuracy: the fraction of positions whose label is among the top-k scores."""

from ..spec import Field, integer, optional
from .base import Statistic, register
from .softmax_loss import check_class_labels, class_view


@register
class Accuracy(Statistic):
    """The fraction of (non-ignored) positions whose label is among the top_k scores.

    Prediction (N, C, ...) holds scores with the classes along `axis`; the label, shaped
    (N, ...) or (N, 1, ...), holds class indices 0..C-1. A position is right when fewer
    than `top_k` other classes score at least as high as its label: as in Caffe, a class
    tied with the label counts against it (a tie is wrong at top-1).

        - {name: accuracy, type: Accuracy, bottoms: [ip2, label], top_k: 5, phase: test}
    """
    axis = Field(integer(), 1, "the prediction's axis that holds the classes")
    top_k = Field(integer(min=1), 1, "right when the label is among the k highest scores")
    ignore_label = Field(optional(integer()), None, "positions with this label are not counted")

    def setup(self, bottom_shapes):
        self.class_axis, n_class = check_class_labels(self, bottom_shapes)
        if self.top_k > n_class:
            raise self.error(f"must be at most the number of classes, {n_class} in prediction "
                             f"'{self.bottoms[0]}' {tuple(bottom_shapes[0])}, got {self.top_k}",
                             "top_k")
        return [()]

    def forward(self, bottoms, tops):
        xp = self.xp
        x, y, valid = class_view(self, bottoms[0].data, bottoms[1].data)
        # Caffe's count: the classes scoring >= the label's score, less the label itself.
        at_least = (x >= xp.take_along_axis(x, y[:, None], 1)).sum(axis=1) - 1
        hits = at_least < self.top_k
        if valid is not None:
            hits &= valid
        tops[0].data[...] = hits.sum()
        counted = hits.size if valid is None else valid.sum()
        tops[0].data /= xp.maximum(counted, 1).astype(tops[0].data.dtype)
