"""What the solver asks of the processes of a data-parallel run.

    solver.solve(train_net, test_net, comm=DataParallel())

Every process holds the whole net. Rank 0 alone holds the run directory: it takes the lock,
reads what the run starts from, prints and writes statistics and snapshots; the others
start from what it shares and never write. Each update, `reduce_gradients` sums the flat
gradient (`net.param_diff`) with one Allreduce and divides it by K: each process's loss is a
mean over its B rows, so the mean of the K gradients is the gradient of the mean over K*B
rows, the single-process gradient at batch K*B. Every process then makes the same update.
"""

import zlib

import numpy as np

from ..errors import GraphnetError
from ..layers.batch_norm import BatchNorm
from ..solver.resume import restore
from .comm import Processes
from .shard import check_sharded


class DataParallel:
    """The solver's view of K processes: who writes, gradient and statistic reductions, and
    the check that every process holds the same parameters and data positions."""
    check_every = 100   # iterations between checks that the processes agree (a few ms each)

    def __init__(self, processes=None):
        self.processes = processes or Processes()
        self.rank, self.size = self.processes.rank, self.processes.size
        self.writer = self.rank == 0
        self._scalars = np.zeros(2)   # (loss, signal flag), summed beside the gradient
        self._shared_params = []

    def use_backend(self, name):
        """Before the nets are built: on the GPU backend, choose this process's GPU."""
        if name == "cupy":
            self.processes.use_gpu()

    def check(self, *nets):
        """Refuse nets that cannot train on K processes; note what each process shares."""
        for net in nets:
            if net is not None:
                check_sharded(net, self.size)
        # BatchNorm's running statistics change in every forward, from this process's own B
        # rows: as PyTorch DDP does with buffers, every process takes rank 0's after each step.
        self._shared_params = [p for layer in nets[0].layers if isinstance(layer, BatchNorm)
                               for p in layer.params.values()]

    def start(self, solver, snapshot):
        """After rank 0 has read the snapshot a run resumes from (or None) and any --weights:
        every process starts from the same parameters, solver state and data positions."""
        self.check(solver.net, solver.test_net)
        snapshot = self.processes.share(snapshot)
        if snapshot is not None:
            if not self.writer:  # rank 0 restored it, and refused another process count
                restore(solver, snapshot)
        self.processes.broadcast_(solver.net.param_data)
        if self.rank:
            # Dropout masks and other draws: a stream of this process's own, rank 0's jumped
            # `rank` times (2^127 draws apart). Every process draws as often as rank 0, so its
            # stream stays rank 0's jumped, and rank 0's, in the snapshot, restores them all.
            backend = solver.net.backend
            backend.rng = np.random.Generator(backend.rng.bit_generator.jumped(self.rank))
        self._check_agreement(solver)

    def reduce_gradients(self, solver):
        """Between backward and the update: the mean gradient of all processes in
        net.param_diff on every process; returns the mean loss. A stop signal that reached any
        process (Ctrl-C, SIGTERM) stops them all after the same iteration."""
        net = solver.net
        for param in self._shared_params:  # changed by this forward: rank 0's, before the check
            self.processes.broadcast_(param.data)
        if solver.iteration % self.check_every == 0:
            self._check_agreement(solver)
        self._scalars[:] = solver.loss, bool(getattr(solver, "_pending", None))
        self.processes.sum_(self._scalars)
        self.processes.sum_(net.param_diff)
        net.param_diff *= 1.0 / self.size
        if self._scalars[1] and not solver._signal:
            solver._signal = solver._pending or "a signal to another process"
        return float(self._scalars[0]) / self.size

    def valid_normalizer(self, count):
        """A loss's normalizer from this process's count of valid labels: max(total, 1) / K over
        the K processes, so the mean of their K losses is one loss over all K*B rows."""
        total = np.array([count], dtype=np.float64)
        self.processes.sum_(total)
        return max(float(total[0]), 1.0) / self.size

    def mean_statistics(self, stats):
        """Validation statistics averaged over the processes: each is a mean over this process's
        share of every global batch, so their mean is the single-process statistic."""
        values = np.array(list(stats.values()), dtype=np.float64)
        self.processes.sum_(values)
        return {key: float(v) / self.size for key, v in zip(stats, values)}

    def _check_agreement(self, solver):
        """Parameters and data positions must be the same on every process: compare a CRC-32
        of each (about 1 ms for LeNet's 431,080 parameters)."""
        net = solver.net
        params = zlib.crc32(np.ascontiguousarray(net.backend.to_host(net.param_data)).view(np.uint8))
        nets = [n for n in (solver.net, solver.test_net) if n is not None]
        positions = zlib.crc32(repr([(layer.name, [getattr(layer, a) for a in layer.state_attrs
                                                   if isinstance(getattr(layer, a), (int, float))])
                                     for n in nets for layer in n.layers if layer.is_source]).encode())
        found = self.processes.gather((params, positions))
        for what, index in (("parameters", 0), ("data positions", 1)):
            differ = [r for r, values in enumerate(found) if values[index] != found[0][index]]
            if differ:
                raise GraphnetError(f"the {what} of process(es) {', '.join(map(str, differ))} differ "
                                    f"from those of process 0 at iteration {solver.iteration}: the "
                                    "processes no longer train one model", net=net.name)
