"""A Caffe SolverParameter (solver prototxt) as a netdef's `solver:` and `coffee_breaks:`."""

from ..errors import GraphnetError
from .caffe_layer import Unsupported

METHODS = {"SGD": "sgd", "NESTEROV": "nesterov", "ADAGRAD": "adagrad", "RMSPROP": "rmsprop",
           "ADADELTA": "adadelta", "ADAM": "adam"}
OLD_METHODS = ["SGD", "NESTEROV", "ADAGRAD", "RMSPROP", "ADADELTA", "ADAM"]
POLICY_FIELDS = {"fixed": (), "step": ("gamma", "stepsize"), "exp": ("gamma",),
                 "inv": ("gamma", "power"), "multistep": ("gamma", "stepvalue"),
                 "poly": ("power",), "sigmoid": ("gamma", "stepsize")}
# Fields that choose where or how Caffe runs, not what it computes.
IGNORED = ("solver_mode", "device_id", "snapshot_format", "snapshot_after_train", "debug_info",
           "layer_wise_reduce", "snapshot_diff", "test_compute_loss", "net", "train_net",
           "test_net", "average_loss")


def convert_solver(msg, file, skip_unsupported=False, has_test=True):
    """(solver mapping, coffee_breaks list, seed or None, [comment], [warning])."""
    unsupported = Unsupported(file, skip_unsupported)
    taken = set(IGNORED)

    def get(key, default=None):
        taken.add(key)
        return msg.get(key, default)

    comments = []
    kind = get("type")
    if kind is None and "solver_type" in msg:
        old = get("solver_type")
        kind = OLD_METHODS[old] if isinstance(old, int) and 0 <= old < 6 else str(old)
    kind = str(kind or "SGD").upper()
    if kind not in METHODS:
        raise GraphnetError(f"type: unknown solver type '{kind}'", file=file,
                            line=msg.line_of("type"))
    method = METHODS[kind]
    momentum, delta = get("momentum"), get("delta")
    solver = {}
    if method == "adam":
        solver["method"] = {"type": "adam", "beta1": float(momentum if momentum is not None else 0.9),
                            "beta2": float(get("momentum2", 0.999)), "delta": float(delta or 1e-8)}
    elif method == "rmsprop":
        solver["method"] = {"type": "rmsprop", "rho": float(get("rms_decay", 0.99)),
                            "delta": float(delta or 1e-8)}
    elif method == "adadelta":
        solver["method"] = {"type": "adadelta", "rho": float(momentum if momentum is not None else 0.95),
                            "delta": float(delta if delta is not None else 1e-6)}
    elif method == "adagrad":
        solver["method"] = {"type": "adagrad", "delta": float(delta or 1e-8)}
    else:
        solver["method"] = method
        if momentum:
            solver["momentum"] = float(momentum)
    solver["lr_policy"] = _policy(msg, get, file)
    if get("weight_decay"):
        solver["weight_decay"] = float(msg.get("weight_decay"))
    if str(get("regularization_type", "L2")).upper() == "L1":
        solver["regularization"] = "l1"
    solver["max_iter"] = int(get("max_iter", 0))
    if int(get("iter_size", 1)) != 1:
        solver["iter_size"] = int(msg.get("iter_size"))
    if float(get("clip_gradients", -1)) > 0:
        solver["clip_gradients"] = float(msg.get("clip_gradients"))
    prefix = get("snapshot_prefix")
    if prefix:
        solver["run_dir"] = str(prefix)
        comments.append(f"run_dir: Caffe's snapshot_prefix {prefix}")
    breaks = []
    if int(get("display", 0)) > 0:
        breaks.append({"type": "TrainingSummary", "every_n_iter": int(msg.get("display"))})
    interval, test_iter = int(get("test_interval", 0)), [int(i) for i in msg.all("test_iter")]
    taken.update(("test_iter", "test_initialization", "test_state"))
    if interval > 0 and test_iter and has_test:
        breaks.append({"type": "ValidationPerformance", "every_n_iter": interval})
        comments.append(f"ValidationPerformance: Caffe tested {test_iter[0]} batches each time; "
                        "graphnet validates one whole epoch of the test data")
    if int(get("snapshot", 0)) > 0:
        breaks.append({"type": "Snapshot", "every_n_iter": int(msg.get("snapshot"))})
    seed = get("random_seed")
    seed = int(seed) if seed is not None and int(seed) >= 0 else None
    for key in msg.keys():
        if key not in taken:
            unsupported(f"{key}: no equivalent in graphnet's solver", msg.line_of(key))
    return solver, breaks, seed, comments, unsupported.warnings


def _policy(msg, get, file):
    name = str(get("lr_policy", "fixed")).lower()
    if name not in POLICY_FIELDS:
        raise GraphnetError(f"lr_policy: '{name}' has no equivalent in graphnet", file=file,
                            line=msg.line_of("lr_policy"))
    base_lr = float(get("base_lr", 0.0))
    if name == "fixed":
        return base_lr
    policy = {"type": name, "base_lr": base_lr}
    for key in POLICY_FIELDS[name]:
        if key == "stepvalue":
            policy["stepvalues"] = [int(v) for v in msg.all("stepvalue")]
            get("stepvalue")
        elif key == "stepsize":
            policy["stepsize"] = int(get("stepsize", 0))
        else:
            policy[key] = float(get(key, 0.0))
    if name == "poly":
        policy["max_iter"] = int(msg.get("max_iter", 0))
    for key in ("gamma", "power", "stepsize", "stepvalue"):
        get(key)   # Caffe's examples leave unused policy fields in: they change nothing
    return policy
