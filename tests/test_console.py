"""What `graphnet solve` shows on a terminal: validation and snapshot lines above the tqdm bar,
never inside it; plain lines on a terminal of no width or a dumb one; and the top-level
--help and --version."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest

from graphnet import __version__
from graphnet.cli import main
from graphnet.coffee import console

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def solve_on_a_terminal(tmp_path, columns, term="xterm"):
    """Everything `graphnet solve netdefs/xor.yaml` writes to a terminal of `columns`."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {**os.environ, "TERM": term, "OPENBLAS_NUM_THREADS": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "graphnet", "solve", "netdefs/xor.yaml", "--set", "solver.max_iter=500",
         "--set", f"solver.run_dir={tmp_path / 'run'}"],
        stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end is closed: the process has ended
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    assert process.wait(timeout=60) == 0, out
    return out.decode()


def test_lines_go_above_the_bar_without_breaking_it(tmp_path):
    out = solve_on_a_terminal(tmp_path, 100)
    assert "xor:" in out and "%|" in out  # the bar is there
    said = [line for line in out.split("\n") if "validation at iter" in line or "snapshot at iter" in line]
    assert len(said) == 6, out  # five validations, one snapshot
    for line in said:
        pieces = line.rstrip("\r").split("\r")
        # tqdm cleared the bar (a carriage return, spaces, a carriage return) and then wrote the
        # line whole: no bar text before it on the same line.
        assert pieces[-1].startswith(("validation at iter", "snapshot at iter")), repr(line)
        assert pieces[-2].strip() == "", repr(line)
    assert f"snapshot at iter 500: {tmp_path / 'run' / 'snapshot-00000500.h5'}" in out


@pytest.mark.parametrize("columns, term", [(0, "xterm"), (100, "dumb")])
def test_a_terminal_of_no_width_or_a_dumb_one_gets_plain_lines(tmp_path, columns, term):
    out = solve_on_a_terminal(tmp_path, columns, term)
    assert "%|" not in out
    lines = out.replace("\r\n", "\n").splitlines()
    assert lines[0].startswith("iter     100/500  loss ")
    assert lines[1].startswith("validation at iter 100: loss ")


def test_say_writes_through_the_bar_on_the_screen(capsys):
    class Bar:
        written = []

        def write(self, line):
            self.written.append(line)
    bar = console.showing(Bar())
    try:
        console.say("above the bar")
    finally:
        console.gone(bar)
    console.say("plain")
    assert Bar.written == ["above the bar"] and capsys.readouterr().out == "plain\n"


def test_help_says_what_graphnet_is_and_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert out.startswith("usage: graphnet [-h] [--version] COMMAND ...\n\ngraphnet: deep-learning nets")
    for command in ("info", "solve", "test", "time", "data", "sample", "predict", "export", "stats",
                    "plot", "draw"):
        assert any(line.split()[:1] == [command] and len(line.split()) > 2 for line in out.splitlines()), command
    assert "A user mistake" not in out  # a note for developers, not for users


def test_version(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--version"])
    assert exit.value.code == 0 and capsys.readouterr().out == f"graphnet {__version__}\n"


def test_test_weights_has_help(capsys):
    with pytest.raises(SystemExit):
        main(["test", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "--weights SNAPSHOT the trained parameters to test" in out
