"""Data-parallel training on MPI: K processes each hold the whole net, read their own share of
every global batch and average their gradients with one Allreduce before every update.

    mpiexec -n 2 graphnet solve netdefs/mnist.yaml
    graphnet solve netdefs/mnist.yaml --procs 2          # launches mpiexec itself

From Python (under mpiexec):

    from graphnet.parallel import DataParallel, sharded
    team = DataParallel()
    train = Net(name, sharded(layers, team), phase="train", ...)
    solver.solve(train, comm=team)

mpi4py is imported only when more than one process runs (pip install graphnet[mpi]).
"""

__all__ = ["DataParallel", "sharded"]


def __getattr__(name):
    # Loaded when asked for: `graphnet solve` in one process only asks whether it is one of
    # several (graphnet.parallel.comm), and must start as fast as before.
    if name == "DataParallel":
        from .data_parallel import DataParallel
        return DataParallel
    if name == "sharded":
        from .shard import sharded
        return sharded
    raise AttributeError(f"module 'graphnet.parallel' has no attribute '{name}'")
