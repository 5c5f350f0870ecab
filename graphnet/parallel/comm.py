"""The processes of one run: MPI's COMM_WORLD through mpi4py, and NCCL between GPUs.

Only this file imports mpi4py, and only when a run has more than one process."""

import os

import numpy as np

from ..errors import GraphnetError

# What mpiexec tells each process it starts: Open MPI, then MPICH (Hydra).
SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")
RANK_VARIABLES = ("OMPI_COMM_WORLD_RANK", "PMI_RANK")
LOCAL_RANK_VARIABLES = ("OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID")


def _environment(names, default):
    for name in names:
        value = os.environ.get(name, "")
        if value.isdigit():
            return int(value)
    return default


def launched_processes():
    """How many processes mpiexec started for this job; 1 when not started by mpiexec."""
    return _environment(SIZE_VARIABLES, 1)


def launched_rank():
    """This process's rank as mpiexec says, without MPI (0 when not started by mpiexec)."""
    return _environment(RANK_VARIABLES, 0)


def import_mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise GraphnetError("training on several processes needs mpi4py: pip install graphnet[mpi]",
                            field="mpiexec") from None
    return MPI


class Processes:
    """COMM_WORLD: sums of arrays, broadcasts, and the end of the job."""

    def __init__(self):
        self.MPI = import_mpi()
        self.comm = self.MPI.COMM_WORLD
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self.nccl = None

    def use_gpu(self):
        """One GPU per process on each machine, chosen by local rank; gradients then go through
        NCCL when CuPy has it and every local process has a GPU of its own, else through host
        memory with MPI (the PyPI MPI wheels are not CUDA-aware)."""
        import cupy
        local = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)
        devices = cupy.cuda.runtime.getDeviceCount()
        cupy.cuda.Device(local.Get_rank() % devices).use()
        try:
            from cupy.cuda import nccl
        except ImportError:
            return
        if local.Get_size() <= devices:
            uid = self.comm.bcast(nccl.get_unique_id() if self.rank == 0 else None, root=0)
            self.nccl = nccl.NcclCommunicator(self.size, uid, self.rank)

    def sum_(self, array):
        """Sum `array` (contiguous) over all processes, in place, on every process."""
        if isinstance(array, np.ndarray):
            self.comm.Allreduce(self.MPI.IN_PLACE, array, op=self.MPI.SUM)
        elif self.nccl is not None:
            import cupy
            from cupy.cuda import nccl
            kinds = {np.dtype("float32"): nccl.NCCL_FLOAT32, np.dtype("float64"): nccl.NCCL_FLOAT64}
            stream = cupy.cuda.get_current_stream()
            self.nccl.allReduce(array.data.ptr, array.data.ptr, array.size, kinds[array.dtype],
                                nccl.NCCL_SUM, stream.ptr)
            stream.synchronize()
        else:  # a GPU array without NCCL: through host memory
            host = array.get()
            self.comm.Allreduce(self.MPI.IN_PLACE, host, op=self.MPI.SUM)
            array.set(host)

    def broadcast_(self, array, root=0):
        """Overwrite `array` (contiguous) with the root process's, on every process."""
        if isinstance(array, np.ndarray):
            self.comm.Bcast(array, root=root)
        else:
            host = array.get()
            self.comm.Bcast(host, root=root)
            array.set(host)

    def share(self, value, root=0):
        """A Python object of the root process, on every process (pickled)."""
        return self.comm.bcast(value, root=root)

    def gather(self, value):
        """[value of process 0, value of process 1, ...] on every process (pickled)."""
        return self.comm.allgather(value)

    def abort(self, code):
        """End every process of the job now with exit status `code`; never returns."""
        self.comm.Abort(code)
