"""Blobs carry what flows between layers; Params carry what the solver learns."""


class Blob:
    """A named array and its gradient, shared by the layer that writes it and those that read it.

    `data` may be rebound by a layer that passes its input on without copying (Split,
    Reshape, Identity); `diff` is made on first use, so blobs that never take a gradient
    cost no memory for one.
    """

    def __init__(self, name, data, xp):
        self.name = name
        self.data = data
        self.xp = xp

    def __getattr__(self, attr):
        # Called only for an attribute not set: the first read of `diff` makes it. After that
        # `diff` is a plain attribute, as fast to read as `data` (a property is not).
        if attr != "diff":
            raise AttributeError(f"'Blob' object has no attribute '{attr}'")
        self.diff = self.xp.zeros_like(self.data)
        return self.diff

    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def has_diff(self):
        """Whether a gradient was ever made for this blob; one never made is zero."""
        return "diff" in self.__dict__

    def __repr__(self):
        return f"Blob({self.name!r}, shape={self.shape})"


class Param:
    """A learned array: its value, its gradient, and how the solver treats it.

    `key` ("ip1/weight") identifies it across layers and nets that share it; `diff`
    accumulates over every layer that uses it until the solver clears it.
    """

    def __init__(self, key, name, shape, *, filler, lr_mult=1.0, decay_mult=1.0, max_norm=None):
        self.key = key
        self.name = name
        self.shape = tuple(shape)
        self.data = None  # set by the net that owns it, as a view of its flat array
        self.diff = None
        self.filler = filler
        self.lr_mult = lr_mult
        self.decay_mult = decay_mult
        self.max_norm = max_norm  # each row (output unit) kept within this L2 norm, as Mocha's L2Cons
        self.frozen = False

    @property
    def needs_grad(self):
        return self.lr_mult != 0 and not self.frozen

    def __repr__(self):
        return f"Param({self.key!r}, shape={self.shape}, lr_mult={self.lr_mult}, decay_mult={self.decay_mult})"
