"""`graphnet solve --procs K`: the same command under `mpiexec -n K`, with mpiexec's messages
about a failed job said in one line, and Ctrl-C turned into a snapshot and a clean end."""

import os
import re
import shutil
import signal
import subprocess
import sys
import threading

from ..errors import GraphnetError

KILLED = re.compile(r"process rank (\d+) with PID (\d+) on node \S+ exited on signal (\d+) \(([^)]*)\)")
# Said by mpiexec after a process that already printed its own line ended the job.
ALREADY_SAID = ("MPI_ABORT was invoked", 'calling "abort"', "exited with non-zero status")


def launch(procs, argv):
    """Run `graphnet ARGV` (without --procs) on `procs` processes; returns mpiexec's exit status."""
    mpiexec = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    mpiexec = mpiexec if os.path.exists(mpiexec) else shutil.which("mpiexec")
    if mpiexec is None:
        raise GraphnetError("needs mpiexec, which the mpi extra installs: pip install graphnet[mpi]",
                            field="--procs")
    command = [mpiexec, "-n", str(procs), sys.executable, "-m", "graphnet", *argv]
    # A session of its own: Ctrl-C at the terminal reaches this process only, not mpiexec,
    # which would end the job at once (Open MPI kills its processes right after SIGTERM).
    job = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True)
    relay = threading.Thread(target=_relay, args=(job.stderr, sys.stderr), daemon=True)
    relay.start()
    signals = []

    def handler(signum, frame):
        signals.append(signum)
        # First: SIGUSR1, which mpiexec passes on and the processes take as Ctrl-C (snapshot,
        # then stop together). Again: end the job now.
        job.send_signal(signal.SIGUSR1 if len(signals) == 1 else signal.SIGTERM)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, handler)
    code = job.wait()
    relay.join(timeout=10)
    return 130 if len(signals) > 1 else code


def without_procs(argv):
    """ARGV with its --procs option taken out."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--procs":
            skip = True
        elif not arg.startswith("--procs="):
            out.append(arg)
    return out


def _relay(stream, out):
    """Copy mpiexec's stderr, each framed message of its own as one line (or none)."""
    framed = None
    for line in stream:
        line = line.replace("\0", "")  # mpiexec ends some of its messages with a NUL
        if line.startswith("-" * 20):
            if framed is None:
                framed = []
                continue
            said = condensed(" ".join(part.strip() for part in framed))
            framed = None
            if said:
                print(said, file=out, flush=True)
        elif framed is not None:
            framed.append(line)
        elif not line.strip():  # the padding mpiexec leaves after its messages
            continue
        else:
            out.write(line)
            out.flush()
    if framed:
        print(condensed(" ".join(part.strip() for part in framed)), file=out, flush=True)


def condensed(message):
    """One line for one of mpiexec's framed messages; None for those that add nothing."""
    message = " ".join(message.split())
    killed = KILLED.search(message)
    if killed:
        rank, pid, signum, name = killed.groups()
        return (f"graphnet: process {rank} (PID {pid}) died of signal {signum} ({name}); "
                "mpiexec ended the job")
    if any(text in message for text in ALREADY_SAID):
        return None
    if "not enough slots" in message:
        return ("mpiexec: more processes than cores (slots) here: ask for fewer, or let Open MPI "
                "run several on a core with PRTE_MCA_rmaps_default_mapping_policy=:oversubscribe")
    return f"mpiexec: {message}"
