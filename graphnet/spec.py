"""Typed, validated configuration: the fields a user writes, shared by YAML and Python.

A class lists its fields as `Field` attributes; `Spec.__init__` takes them as keywords,
converts and checks each one, and refuses unknown keys with the nearest valid one:

    class Dropout(Layer):
        ratio = Field(number(above=0, below=1), 0.5, "fraction of units zeroed in training")

A converter is a function value -> value that raises ValueError with a message in the
user's words ("must be > 0, got -4"); `Spec` adds the field's name and the owner's place.
"""

import math
import numbers

import numpy as np

from .errors import GraphnetError, did_you_mean, shown

REQUIRED = object()


class Field:
    """One configurable value: how to convert and check it, its default, what it means."""

    def __init__(self, convert=None, default=REQUIRED, doc=""):
        self.convert = convert or (lambda v: v)
        self.default = default
        self.doc = doc
        self.name = None

    def __set_name__(self, owner, name):
        self.name = name

    @property
    def required(self):
        return self.default is REQUIRED


class Spec:
    """A configuration object built from keywords, compared and printed by its field values."""

    fields = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        fields = {}
        for klass in reversed(cls.__mro__):
            fields.update({k: v for k, v in vars(klass).items() if isinstance(v, Field)})
        cls.fields = fields

    def __init__(self, **values):
        for key in values:
            if key not in self.fields:
                raise self._error(f"unknown field for {self._kind()}"
                                  f"{did_you_mean(key, self.fields)}", values, field=key)
        for name, field in self.fields.items():
            if name in values:
                value = values[name]
            elif field.required:
                raise self._error("required field is missing", values, field=name)
            else:
                value = field.default
            try:
                if value is not None or field.default is not None:
                    value = field.convert(value)
            except (ValueError, TypeError) as err:
                raise self._error(str(err), values, field=name) from None
            setattr(self, name, value)
        try:
            self.validate()
        except ValueError as err:
            raise self._error(str(err), values) from None

    def validate(self):
        """Checks that involve several fields; raise ValueError with the user's words."""

    def _kind(self):
        return f"{type(self).__name__}"

    def _error(self, message, values, field=None):
        return GraphnetError(message, field=field)

    @property
    def spec(self):
        """The field values, defaults filled in: what a YAML entry for this object says."""
        return {name: getattr(self, name) for name in self.fields}

    def replace(self, **changes):
        """A copy with some fields changed (Mocha's `copy(proto; kw...)`)."""
        return type(self)(**{**self.spec, **changes})

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return all(_equal(getattr(self, n), getattr(other, n)) for n in self.fields)

    __hash__ = None

    def __repr__(self):
        shown = ", ".join(f"{n}={short(getattr(self, n))}" for n, f in self.fields.items()
                          if f.required or not _equal(getattr(self, n), f.default))
        return f"{type(self).__name__}({shown})"


def _equal(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    return a == b


def short(value):
    """A repr that shows arrays by their shape."""
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray) for v in value):
        return "[" + ", ".join(short(v) for v in value) + "]"
    return repr(value)


# Converters. Each takes the raw value and returns the checked one, or raises ValueError.

def _bounds(value, min, max, above, below):
    if min is not None and value < min:
        raise ValueError(f"must be >= {min}, got {value}")
    if max is not None and value > max:
        raise ValueError(f"must be <= {max}, got {value}")
    if above is not None and value <= above:
        raise ValueError(f"must be > {above}, got {value}")
    if below is not None and value >= below:
        raise ValueError(f"must be < {below}, got {value}")
    return value


def integer(min=None, max=None):
    def convert(value):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ValueError(f"must be an integer, got {shown(value)}")
        return _bounds(int(value), min, max, None, None)
    return convert


def number(min=None, max=None, above=None, below=None):
    def convert(value):
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                raise ValueError(f"must be a number, got {shown(value)}") from None
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(f"must be a number, got {shown(value)}")
        try:
            value = float(value) + 0.0  # + 0.0: -0.0 is 0, which NumPy would call negative
        except OverflowError:  # an integer of hundreds of digits
            value = math.inf
        if not math.isfinite(value):  # nan or inf is no setting: every use of it turns to nan
            raise ValueError(f"must be a finite number, got {shown(value)}")
        return _bounds(value, min, max, above, below)
    return convert


def boolean(value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"must be true or false, got {shown(value)}")
    return bool(value)


def text(value):
    if not isinstance(value, str) or not value:
        raise ValueError(f"must be a non-empty string, got {shown(value)}")
    return value


def choice(*options):
    def convert(value):
        if isinstance(value, str) and value.lower() in options:
            return value.lower()
        raise ValueError(f"must be one of {', '.join(options)}, got {shown(value)}"
                         f"{did_you_mean(value.lower(), options) if isinstance(value, str) else ''}")
    return convert


def optional(convert):
    """None stays None; anything else goes through `convert`."""
    return lambda value: None if value is None else convert(value)


def list_of(convert, min_len=0, max_len=None):
    """A list whose items each pass `convert`; a lone item counts as a list of one."""
    def convert_list(value):
        if value is None:
            value = []
        if isinstance(value, (str, numbers.Number)) or not hasattr(value, "__iter__"):
            value = [value]
        items = []
        for i, item in enumerate(value):
            try:
                items.append(convert(item))
            except ValueError as err:
                raise ValueError(f"item {i}: {err}") from None
        if len(items) < min_len:
            raise ValueError(f"needs at least {min_len} item{'s' * (min_len > 1)}, got {len(items)}")
        if max_len is not None and len(items) > max_len:
            raise ValueError(f"takes at most {max_len} item{'s' * (max_len > 1)}, got {len(items)}")
        return items
    return convert_list


def mapping(value):
    if not isinstance(value, dict):
        raise ValueError(f"must be a mapping (key: value), got {shown(value)}")
    return dict(value)


def identifier(value):
    """A layer's or a blob's name: text that prints as it reads, on one line."""
    value = text(value)
    if not value.isprintable():
        raise ValueError(f"must be a name without line breaks or control characters, got {shown(value)}")
    return value


names = list_of(identifier)
"""Blob names: `[x, y]`, or a single name."""


class Kind(Spec):
    """One of a named family of specs (fillers, neurons, policies...), registered by name."""
    type = None
    family = "kind"

    def _error(self, message, values, field=None):
        return GraphnetError(f"{field}: {message}" if field else message)

    def _kind(self):
        return f"{self.family} '{self.type}'"

    def __repr__(self):
        return f"{self.type}{super().__repr__()[len(type(self).__name__):]}"


class Registry(dict):
    """The kinds of one family by name, and the converter a field of that family uses.

    A value may be a kind object, a name, a mapping with a `type` and the kind's fields,
    or, where `number` names a (kind, field), a bare number for that kind:

        FILLERS = Registry("filler", number=("constant", "value"))
        @FILLERS.register("xavier", "glorot")
        class Xavier(Filler): ...
        weight_filler = Field(FILLERS.convert, "xavier")
    """

    def __init__(self, family, number=None):
        super().__init__()
        self.family, self.number = family, number

    def register(self, *names):
        def add(cls):
            for name in names:
                self[name] = cls
            cls.type = names[0]
            return cls
        return add

    def convert(self, value):
        if isinstance(value, Kind) and value.type in self:
            return value
        if self.number and isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = {"type": self.number[0], self.number[1]: value}
        if isinstance(value, str):
            value = {"type": value}
        if not isinstance(value, dict) or not isinstance(value.get("type"), str):
            raise ValueError(("must be a number, a " if self.number else "must be a ")
                             + f"{self.family} name or a mapping with a type, got {shown(value)}")
        fields = dict(value)
        kind = fields.pop("type")
        found = next((k for k in self if k.lower() == kind.lower()), None)  # ReLU or relu
        if found is None:
            raise ValueError(f"unknown {self.family} '{kind}'{did_you_mean(kind, self)}; "
                             f"known: {', '.join(sorted(self))}")
        try:
            return self[found](**fields)
        except GraphnetError as err:
            raise ValueError(str(err)) from None
