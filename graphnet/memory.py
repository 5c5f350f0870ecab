"""How much memory a net will take, added up while it is built, so that a net that cannot
fit is refused in one line before its arrays are made.

    netdefs/xor.yaml:17: layer 'hid': the net needs at least 37.3 PiB of memory by this layer
    (top 'h' of shape (1024, 10000000000000): 37.3 PiB), and there is 125.8 GiB

The sum is a lower bound: each layer's new tops and the parameters it declares (value and
gradient). Blob gradients made on first use, layers' own buffers and temporaries come on
top, so a net that passes may still be refused by the allocator, which the net builder
reports as a last resort.
"""

import math

from . import backend
from .backend import describe_bytes
from .errors import GraphnetError


def check_host_memory(layer, nbytes, what, field):
    """For a layer's own arrays on the host (a data layer's samples or batches): refuse, at
    `field`, `what` needing `nbytes` when the machine has less."""
    available = backend.host_memory()
    if available is not None and nbytes > available:
        raise layer.error(f"{what} need {describe_bytes(nbytes)}, and there is "
                          f"{describe_bytes(available)}", field)


class MemoryBudget:
    """The running total for one net on one backend; `add` raises when it passes the memory
    there is."""

    def __init__(self, backend, borrowed=()):
        self.available = backend.memory()
        self.itemsize = backend.dtype.itemsize
        self.needed = 0
        self.counted = set(borrowed)  # keys of parameters that exist already (shared)

    def add(self, layer, top_shapes):
        """Count `layer`'s new tops and parameters, once its setup has declared them."""
        arrays = [(f"top '{top}'", shape, 1) for top, shape in zip(layer.tops, top_shapes)
                  if top not in layer.bottoms and (not layer.views or layer.is_source)]
        for name, shape, *_ in layer.param_decls:
            key = f"{layer.param_key or layer.name}/{name}"
            if key not in self.counted:
                self.counted.add(key)
                arrays.append((f"parameter '{name}' and its gradient", shape, 2))
        sizes = [(math.prod(shape) * self.itemsize * copies, what, shape)
                 for what, shape, copies in arrays]
        self.needed += sum(size for size, _, _ in sizes)
        if self.available is not None and self.needed > self.available:
            size, what, shape = max(sizes)
            raise GraphnetError(f"the net needs at least {describe_bytes(self.needed)} of memory "
                                f"by this layer ({what} of shape {tuple(shape)}: "
                                f"{describe_bytes(size)}), and there is {describe_bytes(self.available)}",
                                layer=layer.name)
