"""One process of `mpiexec -n K graphnet solve`: only rank 0 prints, and a failure anywhere ends
the whole job with one line instead of leaving the others waiting in a collective forever."""

import os
import signal
import sys
import time
import traceback

from ..errors import GraphnetError
from .comm import launched_rank

# A mistake in the netdef is found by every process at once; rank 0 says it and ends the job.
# The others wait this long before saying theirs, which is then their own.
QUIET_S = 2.0


def run_as_rank(body):
    """Run body(team) on this process of the job; on any failure print one line and abort."""
    try:
        from .data_parallel import DataParallel
        team = DataParallel()
    except GraphnetError as err:  # no mpi4py: every process finds it; rank 0 says it
        if launched_rank() == 0:
            print(err, file=sys.stderr, flush=True)
        sys.exit(2)
    if not team.writer:
        sys.stdout = open(os.devnull, "w")
    # Open MPI's mpiexec ends the job at once on Ctrl-C; `--procs` sends SIGUSR1 instead, which
    # the training loop takes as Ctrl-C. Before the loop it interrupts, as Ctrl-C does.
    signal.signal(signal.SIGUSR1, signal.getsignal(signal.SIGINT))
    try:
        body(team)
    except GraphnetError as err:
        _ending()
        _say(team, str(err))
        team.processes.abort(2)
    except KeyboardInterrupt:  # only rank 0 says it: the others got it from mpiexec
        _ending()
        if team.writer:
            print("graphnet: interrupted", file=sys.stderr, flush=True)
        team.processes.abort(130)
    except BaseException:  # our bug: the traceback, from whichever process met it
        _ending()
        print(f"process {team.rank}:", file=sys.stderr)
        traceback.print_exc()
        sys.stderr.flush()
        team.processes.abort(1)


def _ending():
    """From here a signal ends this process quietly: it is mpiexec ending the job."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
        signal.signal(signum, signal.SIG_DFL)


def _say(team, line):
    if not team.writer:
        time.sleep(QUIET_S)  # still alive: rank 0 did not meet the same; this one is ours
        line = f"process {team.rank}: {line}"
    print(line, file=sys.stderr, flush=True)
