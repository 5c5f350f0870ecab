"""Compiled loops for the NumPy backend, where NumPy cannot avoid slow strided passes.

Loaded by the backend only when numba is installed (`pip install graphnet[fast]`) and
GRAPHNET_KERNELS is not 0; without them every layer runs its plain `xp` code. Both
give the same results to the bit, but for the sign of some zeros (tests/test_kernels.py).
Each kernel is single-threaded: OpenBLAS's threads
already hold the cores during the GEMMs, and a second thread pool spinning beside them
made whole steps slower on a 2-core machine. Compiled on first use per dtype and cached
in __pycache__.

Why pooling and col2im: a max-pool's windows are interleaved with a stride of 2 in memory, so
NumPy runs each of its passes element by element (one LeNet step spent ~3.8 ms in
pooling); col2im's 25 overlapping strided adds read the whole column matrix 25 times
in slices. A loop does each in one pass.
"""

from .columns import col2im_batch_last  # noqa: F401
from .pooling import max_pool_2x2, max_unpool_2x2  # noqa: F401
from .recurrent import add_rows, lstm_cell, lstm_output, lstm_pre_activation, lstm_step_back  # noqa: F401
