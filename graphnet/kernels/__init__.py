"""Compiled loops for the NumPy backend, where NumPy cannot avoid slow strided passes.

Loaded by the backend only when numba is installed (`pip install graphnet[fast]`) and
GRAPHNET_KERNELS is not 0; without them every layer runs its plain `xp` code. Both
give the same results to the bit, but for the sign of some zeros (tests/test_kernels.py).
Each kernel is single-threaded and releases the GIL: graphnet/workers.py's threads run
them side by side on parts of the batch (numba's own thread pool, spinning beside
OpenBLAS's, made whole steps slower on a 2-core machine). Compiled on first use per dtype
and cached in __pycache__.

Why pooling and the columns: a max-pool's windows are interleaved with a stride of 2 in
memory, so NumPy runs each of its passes element by element (one LeNet step spent ~3.8 ms
in pooling); col2im is kh*kw overlapping strided adds whose inner runs are one output row
(8 elements in LeNet's conv2). A loop does each in one pass. SGD's step with weight decay
is six passes over the parameters in NumPy, bound by memory; a loop reads them once.
"""

from .columns import (add_bias, col2im_batch_last, col2im_by_sample, im2col_batch_last,  # noqa: F401
                      im2col_by_sample)
from .pooling import max_pool_2x2, max_unpool_2x2  # noqa: F401
from .spin import spin_while  # noqa: F401
from .recurrent import add_rows, lstm_cell, lstm_output, lstm_pre_activation, lstm_step_back  # noqa: F401
from .update import sgd_step  # noqa: F401
