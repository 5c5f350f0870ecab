"""Update rules: one step of a method on the flat array of all parameters (Caffe's solvers).

In a solver section a method is a name, or a mapping with its hyper-parameters:

    method: adam
    method: {type: rmsprop, rho: 0.9}

`update(xp, data, grad, lr, momentum, state, t)` changes `data` in place. `grad` is the
normalized, regularized gradient and serves as scratch space; `lr` is the rate times each
element's lr_mult (one number, or a flat array); `state` holds one flat array per name in
`state_names`, zeros at the start; `t` counts the updates applied before this one. A method
marked `elementwise` is handed pieces of these arrays, one after another
(graphnet/solver/update.py). Every step is written with in-place operations in the dtype of
`data`; the few methods that need a second temporary keep scratch arrays between steps.
"""

import math

from ..spec import Field, Kind, Registry, number

METHODS = Registry("method")


class Method(Kind):
    family = "method"
    state_names = ()
    uses_momentum = False   # whether the momentum policy means anything to this method
    # Whether update() may be handed pieces of the arrays, each element's step depending on
    # that element alone (graphnet/solver/update.py); a step that reads a norm may not.
    elementwise = False
    # A compiled loop (graphnet.kernels) doing L2 decay and this step in one pass, if any.
    kernel = None

    def update(self, xp, data, grad, lr, momentum, state, t):
        """One step, in place on `data` and `state`."""
        raise NotImplementedError

    def scratch(self, xp, like):
        """A temporary array like `like`, kept between steps so a step allocates nothing (one
        per shape: the update comes in pieces of a few sizes)."""
        buffers = self.__dict__.setdefault("_scratch", {})
        key = (like.shape, like.dtype, xp.__name__)
        buffer = buffers.get(key)
        if buffer is None:
            buffer = buffers[key] = xp.empty_like(like)
        return buffer



method = METHODS.convert
"""Converter for a method field: a name, a mapping with a type, or a Method."""


@METHODS.register("sgd")
class SGD(Method):
    """Momentum SGD, as Caffe: V = momentum*V + lr*g; W -= V. `method: sgd`"""
    elementwise = True
    state_names = ("history",)
    uses_momentum = True
    kernel = "sgd_step"

    def update(self, xp, data, grad, lr, momentum, state, t):
        history = state["history"]
        grad *= lr
        history *= momentum
        history += grad
        data -= history


@METHODS.register("nesterov")
class Nesterov(Method):
    """Nesterov's accelerated gradient, as Caffe: V_old = V; V = momentum*V + lr*g;
    W -= (1 + momentum)*V - momentum*V_old. `method: nesterov`"""
    elementwise = True
    state_names = ("history",)
    uses_momentum = True

    def update(self, xp, data, grad, lr, momentum, state, t):
        history = state["history"]
        grad *= lr
        history *= momentum
        history += grad
        # (1 + mu)*V - mu*V_old = mu*V + lr*g, since mu*V_old = V - lr*g.
        data -= grad
        xp.multiply(history, momentum, out=grad)
        data -= grad


@METHODS.register("adagrad")
class AdaGrad(Method):
    """H += g^2; W -= lr*g / (sqrt(H) + delta) (Duchi et al.; Caffe). `method: adagrad`"""
    elementwise = True
    state_names = ("history",)
    delta = Field(number(min=0), 1e-8, "added to the root, against division by zero")

    def update(self, xp, data, grad, lr, momentum, state, t):
        history, tmp = state["history"], self.scratch(xp, data)
        xp.multiply(grad, grad, out=tmp)
        history += tmp
        _divide_by_root(xp, grad, history, self.delta, tmp)
        grad *= lr
        data -= grad


@METHODS.register("rmsprop")
class RMSProp(Method):
    """H = rho*H + (1 - rho)*g^2; W -= lr*g / (sqrt(H) + delta) (Tieleman and Hinton; Caffe).

        method: {type: rmsprop, rho: 0.99}
    """
    elementwise = True
    state_names = ("history",)
    rho = Field(number(min=0, below=1), 0.99, "decay of the mean square (Caffe's rms_decay)")
    delta = Field(number(min=0), 1e-8, "added to the root, against division by zero")

    def update(self, xp, data, grad, lr, momentum, state, t):
        history, tmp = state["history"], self.scratch(xp, data)
        _running_square(xp, history, grad, self.rho, tmp)
        _divide_by_root(xp, grad, history, self.delta, tmp)
        grad *= lr
        data -= grad


@METHODS.register("adadelta")
class AdaDelta(Method):
    """Zeiler's AdaDelta in Caffe's form, the step scaled by lr (base_lr 1.0 is usual):
    Eg = rho*Eg + (1 - rho)*g^2; u = g*sqrt((Edx + delta) / (Eg + delta));
    Edx = rho*Edx + (1 - rho)*u^2; W -= lr*u.

        method: {type: adadelta, rho: 0.95, delta: 1e-6}
    """
    elementwise = True
    state_names = ("history", "update_history")
    rho = Field(number(min=0, below=1), 0.95, "decay of the mean squares")
    delta = Field(number(above=0), 1e-6, "added under both roots")

    def update(self, xp, data, grad, lr, momentum, state, t):
        history, update_history, tmp = state["history"], state["update_history"], self.scratch(xp, data)
        _running_square(xp, history, grad, self.rho, tmp)
        xp.add(history, self.delta, out=tmp)
        xp.sqrt(tmp, out=tmp)
        grad /= tmp
        xp.add(update_history, self.delta, out=tmp)
        xp.sqrt(tmp, out=tmp)
        grad *= tmp                                   # grad is now u
        _running_square(xp, update_history, grad, self.rho, tmp)
        grad *= lr
        data -= grad


@METHODS.register("adam")
class Adam(Method):
    """Kingma and Ba, as Caffe: m = beta1*m + (1 - beta1)*g; v = beta2*v + (1 - beta2)*g^2;
    W -= lr * sqrt(1 - beta2^(t+1)) / (1 - beta1^(t+1)) * m / (sqrt(v) + delta).

        method: {type: adam, beta1: 0.9, beta2: 0.999, delta: 1e-8}
    """
    elementwise = True
    state_names = ("m", "v")
    beta1 = Field(number(min=0, below=1), 0.9, "decay of the mean gradient (Caffe's momentum)")
    beta2 = Field(number(min=0, below=1), 0.999, "decay of the mean square (Caffe's momentum2)")
    delta = Field(number(min=0), 1e-8, "added to the root, against division by zero")

    def update(self, xp, data, grad, lr, momentum, state, t):
        m, v, tmp = state["m"], state["v"], self.scratch(xp, data)
        m *= self.beta1
        xp.multiply(grad, 1.0 - self.beta1, out=tmp)
        m += tmp
        _running_square(xp, v, grad, self.beta2, tmp)
        xp.sqrt(v, out=tmp)
        tmp += self.delta
        xp.divide(m, tmp, out=tmp)
        tmp *= lr
        tmp *= math.sqrt(1.0 - self.beta2 ** (t + 1)) / (1.0 - self.beta1 ** (t + 1))
        data -= tmp


def _running_square(xp, mean, grad, rho, tmp):
    """mean = rho*mean + (1 - rho)*grad^2, in place; tmp is overwritten."""
    xp.multiply(grad, grad, out=tmp)
    tmp *= 1.0 - rho
    mean *= rho
    mean += tmp


def _divide_by_root(xp, grad, square, delta, tmp):
    """grad /= sqrt(square) + delta, in place; tmp is overwritten."""
    xp.sqrt(square, out=tmp)
    tmp += delta
    grad /= tmp
