"""The update half of an iteration (weight decay, then the method's step), in pieces.

A step of LeNet touches its 431,080 parameters four to six times (decay, rate, momentum,
update). Every one of those operations is elementwise, so the flat arrays are cut into
pieces that never straddle two lr_mult or decay_mult values: each piece takes its rate and
decay as one number, rather than an array the size of the net made again at every change
of the rate (the inv policy changes it every iteration), and a piece's arrays stay in a
core's cache from one operation to the next. The numbers are those of the whole-array
step, bit for bit: the same float32 products in the same order, element by element.

A method with a compiled step (momentum SGD with L2 decay, graphnet/kernels/update.py)
takes its pieces in a few parts of about PART elements, one call each, which the backend's
threads take side by side; the others take NumPy's passes, piece by piece, on the caller.

A method whose step reads across elements (a norm, a sort) must say so with
`elementwise = False`; it is then given the whole arrays at once, with the rates as arrays,
as on a device (CuPy), where each operation on a piece would be a kernel launch of its own.
"""

import math

import numpy as np

from ..workers import batch_parts, split

PIECE = 1 << 16   # elements; on LeNet 2^15 to 2^17 took the same time (0.3 ms), 2^14 more calls
PART = 1 << 17    # elements, about, of a part of the compiled step for the threads


class Update:
    """Decay and step over the flat parameters `data` and gradients `grad` of a net."""

    def __init__(self, backend, method, state, data, grad, lr_mult, decay, regularization):
        """lr_mult and decay (weight_decay times decay_mult, or None for no weight decay):
        a number, or a flat array of one per parameter element, as the solver makes them."""
        self.backend, self.xp, self.method = backend, backend.xp, method
        self.state, self.data, self.grad = state, data, grad
        self.lr_mult, self.decay, self.regularization = lr_mult, decay, regularization
        kernels = backend.kernels
        self.kernel = None   # the method's compiled decay-and-step, where it applies
        if method.kernel and kernels is not None and regularization == "l2":
            self.kernel = getattr(kernels, method.kernel)
        self.pieces = []
        if method.elementwise and not backend.launches:
            # The compiled step's parts for the threads: equal runs of elements, one, or a
            # multiple of 4 as the batch's parts (graphnet/workers.py). No piece straddles two.
            count = 1 if self.kernel is None else len(batch_parts(len(data), 1, PART))
            edges = {len(data) * i // count for i in range(count + 1)}
            for run, lr_mult_run, decay_run in _runs(backend, lr_mult, decay, len(data)):
                cuts = sorted({run.start, run.stop}.union(e for e in edges if run.start < e < run.stop))
                for start, stop in zip(cuts, cuts[1:]):
                    for piece in split(stop - start, math.ceil((stop - start) / PIECE)):
                        where = slice(start + piece.start, start + piece.stop)
                        self.pieces.append((where, lr_mult_run, decay_run))
        # Each piece's views, made once: the arrays are only ever changed in place (a resume
        # writes into the state too), and a tiny net's step is a few microseconds.
        names = method.state_names
        self._views = [(data[where], grad[where], {n: state[n][where] for n in names}, decay)
                       for where, _, decay in self.pieces]
        if self.kernel is not None and self.pieces:   # the pieces as the kernel takes them
            self._bounds = np.array([0] + [where.stop for where, _, _ in self.pieces], np.int64)
            self._decays = np.array([0 if d is None else d for _, _, d in self.pieces], data.dtype)
            self._decayed = np.array([d is not None for _, _, d in self.pieces])
            self._kernel_state = [state[n] for n in names]
            # The threads take the parts side by side: in a training step the parameters come
            # cold from memory, and two cores draw them faster than one (LeNet's steps: 1.8 %
            # faster than with the step on one thread; NumPy's passes had been slower on two).
            cuts = np.searchsorted(self._bounds, sorted(edges))
            self._parts = list(zip(cuts, cuts[1:]))
        self._rates_of, self._rates = None, None

    def __call__(self, learning_rate, momentum, t):
        """Decay and step once at this learning rate and momentum; `t` counts the steps before."""
        xp, method = self.xp, self.method
        rates, momentum = self._operands(learning_rate, momentum)
        if not self.pieces:   # a method that reads across elements, or a device: whole arrays
            self._decay(self.data, self.grad, self.decay)
            method.update(xp, self.data, self.grad, rates, momentum, self.state, t)
            return

        if self.kernel is not None:   # a call for each part's pieces
            def part(index, slot):
                a, z = self._parts[index]
                self.kernel(self.data, self.grad, *self._kernel_state, self._bounds[a:z + 1],
                            self._kernel_rates[a:z], momentum[()], self._decays[a:z],
                            self._decayed[a:z])
            self.backend.parallel(len(self._parts), part)
            return
        # One piece after another, on this thread: NumPy's passes over a piece are bound by
        # memory (LeNet's SGD with momentum: 0.29 ms on one thread, 0.31-0.45 ms on two).
        for (data, grad, state, decay), rate in zip(self._views, rates):
            if decay is not None:
                self._decay(data, grad, decay)
            method.update(xp, data, grad, rate, momentum, state, t)

    def _decay(self, data, grad, decay):
        """grad += decay * w (L2) or decay * sign(w) (L1); nothing for decay None."""
        if decay is None:
            return
        xp, tmp = self.xp, self.method.scratch(self.xp, data)
        if self.regularization == "l2":
            xp.multiply(data, decay, out=tmp)
        else:
            xp.sign(data, out=tmp)
            tmp *= decay
        grad += tmp

    def _operands(self, learning_rate, momentum):
        """The rates (learning rate times lr_mult: one per piece, or an array for the whole)
        and the momentum, as the backend's numbers; made again only when they change."""
        if self._rates_of != (learning_rate, momentum):
            self._rates_of = (learning_rate, momentum)
            asarray = self.backend.asarray
            if self.pieces:   # the expression of the whole array's, for the bits to match
                rates = [asarray(learning_rate * lr_mult) for _, lr_mult, _ in self.pieces]
                if self.kernel is not None:
                    self._kernel_rates = np.array([rate[()] for rate in rates], self.data.dtype)
            else:
                rates = asarray(learning_rate * self.lr_mult)
            self._rates = rates, asarray(momentum)
        return self._rates


def _runs(backend, lr_mult, decay, size):
    """Slices of range(size) over which lr_mult and decay are constant, with their values
    there: numbers as given, or an array's element (a NumPy scalar of its dtype)."""
    arrays = [backend.to_host(v) for v in (lr_mult, decay) if _is_array(v)]
    cuts = sorted({0, size}.union(*(np.flatnonzero(np.diff(a)) + 1 for a in arrays)))
    runs = []
    for start, stop in zip(cuts, cuts[1:]):
        values = [backend.to_host(v[start:start + 1])[0] if _is_array(v) else v
                  for v in (lr_mult, decay)]
        runs.append((slice(start, stop), *values))
    return runs


def _is_array(value):
    return value is not None and not isinstance(value, (int, float))
