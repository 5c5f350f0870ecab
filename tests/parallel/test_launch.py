"""`solve --procs K`: the arguments passed on to mpiexec, and mpiexec's framed messages each
said in one line (or none, where the process that failed said its own)."""

from graphnet.parallel.launch import condensed, without_procs


def test_procs_is_taken_out_of_the_arguments():
    assert without_procs(["solve", "a.yaml", "--procs", "2", "--resume"]) == ["solve", "a.yaml", "--resume"]
    assert without_procs(["solve", "--procs=4", "a.yaml"]) == ["solve", "a.yaml"]


def test_mpiexec_messages_in_one_line():
    killed = ("prterun noticed that process rank 1 with PID 23125 on node vm exited on\n"
              "signal 9 (Killed).")
    assert condensed(killed) == ("graphnet: process 1 (PID 23125) died of signal 9 (Killed); "
                                 "mpiexec ended the job")
    assert condensed("MPI_ABORT was invoked on rank 1 in communicator MPI_COMM_WORLD") is None
    assert condensed("There are not enough slots available in the system").startswith(
        "mpiexec: more processes than cores")
    assert condensed("Something  else\nhappened") == "mpiexec: Something else happened"
