"""One Caffe layer of a parsed prototxt, as the converters in layers.py read it.

Both formats come in: a V1 layer (`layers { type: CONVOLUTION blobs_lr: 1 }`) is read as
Caffe's upgrade_proto.cpp upgrades it (the type enum as its name, blobs_lr, weight_decay
and param as `param` entries). Each *_param message is read field by field (Params), so
that what no converter took can be reported: an error naming its prototxt line, or with
`skip_unsupported` a warning, and the field is left out.
"""

from ..errors import GraphnetError
from .text_format import Enum, Message

V1_TYPES = {
    1: "Accuracy", 2: "BNLL", 3: "Concat", 4: "Convolution", 5: "Data", 6: "Dropout",
    7: "EuclideanLoss", 8: "Flatten", 9: "HDF5Data", 10: "HDF5Output", 11: "Im2col",
    12: "ImageData", 13: "InfogainLoss", 14: "InnerProduct", 15: "LRN",
    16: "MultinomialLogisticLoss", 17: "Pooling", 18: "ReLU", 19: "Sigmoid", 20: "Softmax",
    21: "SoftmaxWithLoss", 22: "Split", 23: "TanH", 24: "WindowData", 25: "Eltwise",
    26: "Power", 27: "SigmoidCrossEntropyLoss", 28: "HingeLoss", 29: "MemoryData",
    30: "ArgMax", 31: "Threshold", 32: "DummyData", 33: "Slice", 34: "MVN", 35: "AbsVal",
    36: "Silence", 37: "ContrastiveLoss", 38: "Exp", 39: "Deconvolution",
}
V1_NAMES = {"NONE": 0, "ACCURACY": 1, "BNLL": 2, "CONCAT": 3, "CONVOLUTION": 4, "DATA": 5,
            "DROPOUT": 6, "EUCLIDEAN_LOSS": 7, "FLATTEN": 8, "HDF5_DATA": 9, "HDF5_OUTPUT": 10,
            "IM2COL": 11, "IMAGE_DATA": 12, "INFOGAIN_LOSS": 13, "INNER_PRODUCT": 14, "LRN": 15,
            "MULTINOMIAL_LOGISTIC_LOSS": 16, "POOLING": 17, "RELU": 18, "SIGMOID": 19,
            "SOFTMAX": 20, "SOFTMAX_LOSS": 21, "SPLIT": 22, "TANH": 23, "WINDOW_DATA": 24,
            "ELTWISE": 25, "POWER": 26, "SIGMOID_CROSS_ENTROPY_LOSS": 27, "HINGE_LOSS": 28,
            "MEMORY_DATA": 29, "ARGMAX": 30, "THRESHOLD": 31, "DUMMY_DATA": 32, "SLICE": 33,
            "MVN": 34, "ABSVAL": 35, "SILENCE": 36, "CONTRASTIVE_LOSS": 37, "EXP": 38,
            "DECONVOLUTION": 39}
PHASES = {"TRAIN": "train", "TEST": "test", 0: "train", 1: "test"}


class Unsupported:
    """Collects what graphnet cannot express: an error at once, or warnings with skip."""

    def __init__(self, file, skip):
        self.file, self.skip, self.warnings = file, skip, []

    def __call__(self, what, line, layer=None):
        if not self.skip:
            raise GraphnetError(f"{what} (--skip-unsupported leaves it out with a warning)",
                                file=self.file, line=line, layer=layer)
        self.warnings.append(f"{self.file}:{line}: " + (f"layer '{layer}': " if layer else "") + what)


class _Taking:
    """Reads fields of `self.msg` and notes each in `self.taken`: what no one took is reported."""

    def get(self, key, default=None):
        self.taken.add(key)
        return self.msg.get(key, default)

    def all(self, key):
        self.taken.add(key)
        return self.msg.all(key)


class Params(_Taking):
    """A Caffe *_param message whose fields are taken one by one; the rest are reported."""

    def __init__(self, msg, layer, label):
        self.msg = msg if msg is not None else Message(layer.line)
        self.layer, self.label, self.taken = layer, label, set()

    def __contains__(self, key):
        return key in self.msg

    def default(self, key, value, why=""):
        """Caffe's field must hold `value` (graphnet's only behaviour) if it is given."""
        got = self.get(key, value)
        if _plain(got) != _plain(value):
            self.layer.unsupported(f"{self.label}.{key}: {_show(got)} has no equivalent in "
                                   f"graphnet{why}", self.msg.line_of(key))

    def ignore(self, *keys):
        """Fields that only choose Caffe's implementation (engine...)."""
        self.taken.update(keys)

    def finish(self):
        for key in self.msg.keys():
            if key not in self.taken:
                self.layer.unsupported(f"{self.label}.{key}: no equivalent in graphnet",
                                       self.msg.line_of(key))


def _plain(value):
    return value.upper() if isinstance(value, Enum) else value


def _show(value):
    return str(value) if isinstance(value, (Enum, int, float)) else repr(value)


class CaffeLayer(_Taking):
    """One Caffe layer, modern or upgraded from V1, as the converters read it."""

    def __init__(self, msg, v1, unsupported):
        self.msg, self.line, self.v1 = msg, msg.line, v1
        self.name = msg.get("name") or f"layer{msg.line}"
        self._unsupported = unsupported
        if v1:
            kind = msg.get("type")
            number = kind if isinstance(kind, int) else V1_NAMES.get(str(kind))
            if number not in V1_TYPES:
                raise GraphnetError(f"type: unknown V1 layer type {kind}", file=unsupported.file,
                                    line=msg.line_of("type"), layer=self.name)
            self.type = V1_TYPES[number]
        else:
            self.type = str(msg.get("type", ""))
        self.kind = self.type
        self.taken = {"name", "type", "bottom", "top"}

    def unsupported(self, what, line):
        self._unsupported(what, line, self.name)


    def params(self, key):
        """The layer's *_param message as Params (empty if absent)."""
        self.taken.add(key)
        return Params(self.msg.get(key), self, key)

    def param_specs(self):
        """[{name, lr_mult, decay_mult}] per blob: `param {}` or V1's blobs_lr/weight_decay/param."""
        if self.v1:
            names, lrs, decays = self.all("param"), self.all("blobs_lr"), self.all("weight_decay")
            specs = [{} for _ in range(max(len(names), len(lrs), len(decays)))]
            for key, values in (("name", names), ("lr_mult", lrs), ("decay_mult", decays)):
                for spec, value in zip(specs, values):
                    spec[key] = value
            self.taken.add("blob_share_mode")
            return specs
        specs = []
        for p in self.all("param"):
            spec = {k: p.get(k) for k in ("name", "lr_mult", "decay_mult") if k in p}
            for key in p.keys():
                if key not in ("name", "lr_mult", "decay_mult", "share_mode"):
                    self.unsupported(f"param.{key}: no equivalent in graphnet", p.line_of(key))
            specs.append(spec)
        return specs


def phase_rule(rule, layer):
    out = {}
    for key in rule.keys():
        if key == "phase":
            out["phase"] = PHASES.get(rule.get("phase"))
        elif key in ("stage", "not_stage"):
            out[key] = [str(s) for s in rule.all(key)]
        elif key in ("min_level", "max_level"):
            out[key] = int(rule.get(key))
        else:
            layer.unsupported(f"include/exclude: unknown rule field '{key}'", rule.line_of(key))
    return out


def caffe_filler(msg, layer):
    """A Caffe FillerParameter as graphnet's filler: a number for a constant, else a mapping."""
    p = Params(msg, layer, "filler")
    kind = str(p.get("type", "constant")).lower()
    if kind == "constant":
        out = float(p.get("value", 0.0))
    elif kind == "gaussian":
        out = {"type": "gaussian", "mean": float(p.get("mean", 0.0)), "std": float(p.get("std", 1.0))}
        p.default("sparse", -1, " (sparse gaussian fillers)")
    elif kind == "uniform":
        out = {"type": "uniform", "min": float(p.get("min", 0.0)), "max": float(p.get("max", 1.0))}
    elif kind in ("xavier", "msra"):
        norm = str(p.get("variance_norm", "FAN_IN")).lower()
        out = {"type": kind} if norm == "fan_in" else {"type": kind, "variance_norm": norm}
    elif kind == "bilinear":
        out = {"type": "bilinear"}
    else:
        layer.unsupported(f"filler type '{kind}' has no equivalent in graphnet", msg.line_of("type"))
        return None
    p.finish()
    return out["type"] if isinstance(out, dict) and len(out) == 1 else out


def spatial(p, key, default):
    """Caffe's `key` (repeated, one value or one per axis) or key_h/key_w, as n or [h, w]."""
    base = {"kernel": "kernel_size"}.get(key, key)
    values = [int(v) for v in p.all(base)]
    h, w = p.get(f"{key}_h"), p.get(f"{key}_w")
    if h is not None or w is not None:
        values = [int(h if h is not None else default), int(w if w is not None else default)]
    if not values:
        return default
    if len(values) > 2:
        p.layer.unsupported(f"{p.label}.{base}: {len(values)} spatial axes (graphnet has 2)",
                            p.msg.line_of(base))
    return values[0] if len(values) == 1 or values[0] == values[1] else values[:2]


def is_true(value):
    return value is True or (isinstance(value, str) and value.lower() in ("true", "t", "1")) or value == 1
