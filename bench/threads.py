"""The thread count a benchmark gives every contender: each BLAS, and torch's own pool."""

import os


def pin_blas_threads(threads):
    """OMP/OPENBLAS/MKL_NUM_THREADS = threads, for this process and its children. BLAS reads
    them when it loads: call this before NumPy (or torch) is imported."""
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def torch_with_threads(threads):
    """torch with its intra-op pool at `threads`, or None where torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch
