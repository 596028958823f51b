"""`complaints` commands started by forking a process that has imported their code once, instead of a new
interpreter importing it all again (0.7–0.8 s of CPU per start on the 2-core test machine). The tests that kill
workers and servers and start them again, dozens of times (`tests/faults/`, the poisoned workers of
`tests/workers/`), start them here: with restarts that cheap, the killing no longer starves the load it kills.
So do the command line's tests (`tests/cli/`: about a hundred commands, standard input and error of their own).

The fork server is multiprocessing's (one per test process, started at the first command, modules in
`PRELOAD`). A child is a command like any started by a supervisor: a session (process group) of its own, its
own environment and log file, its exit status (negative: the signal that ended it); the command's code is the
real one, imported before the fork rather than after it.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

#: Imported once by the fork server; a module missing here is imported by each child (slower, not wrong).
PRELOAD = ["pytest", "web", "web.cli", "web.server", "engine.complaints.timer_worker", "engine.complaints.mailbox",
           "engine.complaints.mail_intake", "engine.workflow.runtime", "gunicorn.app.base", "gunicorn.arbiter",
           "gunicorn.workers.sync", "gunicorn.workers.gthread"]

#: The fork server's context: also for tests that start processes of their own code (tests/unit/test_concurrency.py).
CONTEXT = multiprocessing.get_context("forkserver")
CONTEXT.set_forkserver_preload(PRELOAD)


def _command(args: list[str], env: dict[str, str], log: str, prelude: str, stdin: str, errors: str) -> None:
    """In the child: become a process of its own, then run `complaints ARGS` after `prelude` (a fault to inject),
    with its output in `log` (its errors in `errors` if given) and `stdin` (a file) as its standard input."""
    os.setsid()
    for fd, path in ((1, log), (2, errors or log)):
        output = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(output, fd)
        os.close(output)
    if stdin:
        # multiprocessing gave the child /dev/null as sys.stdin; a started command reads its own fd 0.
        source = os.open(stdin, os.O_RDONLY)
        os.dup2(source, 0)
        os.close(source)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's standard input, open while it runs
    os.environ.clear()
    os.environ.update(env)
    if prelude:
        exec(prelude, {"__name__": "prelude"})  # noqa: S102 - the tests' own fault injection
    from web.cli import main

    main(args, prog_name="complaints")


class Command:
    """A started command, with what the tests use of `subprocess.Popen`."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, prelude: str = "",
                 stdin: Path | None = None, errors: Path | None = None):
        self.args, self.log = args, log
        self._process = CONTEXT.Process(target=_command, daemon=True, args=(
            args, env, str(log), prelude, str(stdin or ""), str(errors or "")))
        self._process.start()
        self.pid: int = self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        """The exit status, None while it runs."""
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        """Wait for it to end; its exit status."""
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(["complaints", *self.args], timeout or 0)
        return self._process.exitcode

    def send_signal(self, number: int) -> None:
        """Send a signal, unless it has ended (its pid may be another process's by now)."""
        if self.poll() is None:
            os.kill(self.pid, number)


def run(args: list[str], env: dict[str, str], log: Path, prelude: str = "", timeout: float = 120,
        stdin: Path | None = None, errors: Path | None = None) -> tuple[int, str]:
    """Run a command to its end: its exit status and output (`errors`, if given, holds its standard error)."""
    command = Command(args, env, log, prelude, stdin, errors)
    try:
        code = command.wait(timeout)
    finally:
        if command.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
            command.wait()
    return code, log.read_text(errors="replace")
