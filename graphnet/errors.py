"""The one exception a user sees for a mistake in a netdef, a command or their data."""

import reprlib


class GraphnetError(Exception):
    """A user mistake, told in one line that says where: file, layer and field.

    Each part of the place is filled in by whoever knows it: a layer's field check knows
    the field, the net builder knows the layer, the netdef loader knows the file and line.

        netdefs/xor.yaml:7: layer 'hid': output_dim: must be > 0, got -4
        netdefs/mnist.yaml:6: layer 'mnist': source: data/mnist/train.txt: no such file
    """

    def __init__(self, message, *, file=None, line=None, layer=None, field=None, net=None,
                 path=None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.layer = layer
        self.field = field
        self.net = net
        self.path = path  # a data file the message is about: shown after the field

    def locate(self, *, file=None, line=None, layer=None, field=None, net=None):
        """Fill in the parts of the place that are not known yet; returns self to re-raise."""
        if self.file is None or self.file == file:
            # A line belongs to its file: a snapshot's error never gets the netdef's line.
            self.line = self.line or line
        self.file = self.file or file
        self.layer = self.layer or layer
        self.field = self.field or field
        self.net = self.net or net
        return self

    def __str__(self):
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else str(self.file))
        elif self.net:
            parts.append(f"net '{self.net}'")
        if self.layer:
            # Layers without a name yet are shown by position: layer #3.
            parts.append(f"layer {self.layer}" if self.layer.startswith("#") else f"layer '{self.layer}'")
        if self.field:
            parts.append(str(self.field))
        if self.path:
            parts.append(str(self.path))
        parts.append(self.message)
        return _one_line(": ".join(parts))


def _one_line(text):
    """`text` with line breaks and other unprintable characters escaped (a path or a key
    may hold them): one line, whatever the user wrote."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def did_you_mean(word, choices):
    """' (did you mean 'x'?)' for the nearest of `choices`, or '' when none is near."""
    import difflib  # here, not at the top: the command line starts faster without it
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class _Brief(reprlib.Repr):
    """reprlib's bounded repr, also for the dict and list subclasses the netdef loader makes."""

    def repr1(self, x, level):
        if isinstance(x, dict) and type(x) is not dict:
            x = dict(x)
        elif isinstance(x, list) and type(x) is not list:
            x = list(x)
        return super().repr1(x, level)


_brief = _Brief()
_brief.maxlevel, _brief.maxlist, _brief.maxdict, _brief.maxstring, _brief.maxother = 2, 3, 3, 40, 40


def shown(value):
    """A user's value as a message shows it: a repr cut short, in time and in length, however
    large the value (YAML aliases make a list of 9**10 items in ten short lines)."""
    return _brief.repr(value)
