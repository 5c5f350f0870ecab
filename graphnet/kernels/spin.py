"""A wait that holds neither a core's sleep nor the GIL: graphnet/workers.py's threads
watch a flag for the next job, and the caller for the last part's end, this way first.

Woken from a sleep, a thread took 24-170 us to start on this VM; LeNet's pooling and
conv1 parts take 60-220 us, so a sleeping thread found them all taken. A Python loop
would hold the GIL the caller needs between its parts; this loop runs without it.
"""

from numba import njit


@njit(cache=True, nogil=True)
def spin_while(flags, index, value, spins, scratch):
    """Watch flags[index] while it equals `value`, at most `spins` times; True once it
    changed. Each turn stores into flags[scratch], an index LLVM cannot tell from `index`,
    so it must load flags[index] again every turn (numba has no volatile loads)."""
    for _ in range(spins):
        if flags[index] != value:
            return True
        flags[scratch] += 1
    return False
