"""Limits, errors and the per-call budget every guard charges (docs/ARCHITECTURE.md, "Model code")."""
from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from SpiffWorkflow.exceptions import WorkflowException

from engine.errors import Code

# --- Limits ----------------------------------------------------------------------------------

MAX_LINES = 100_000
"""Executed script lines per call (loop iterations count as lines)."""
MAX_SECONDS = 1.0
"""CPU time of the calling thread per script call, watched by the tracer between lines: a script spends it
whatever else the machine does, so a loaded machine does not stop a script that an idle one finishes."""
MAX_WALL_SECONDS = 2.5
"""Wall-clock time per script call: under the isolated worker's kill (3 s), so a script slowed down by a loaded
machine stops cleanly at its line instead of costing a worker."""
MAX_ITEMS = 1_000_000
"""Elements or characters in one value made by a size-growing operation, and values in task data."""
MAX_PRODUCED = 10_000_000
"""Elements or characters all size-growing operations of one call may produce together."""
MAX_INT_BITS = 4096
"""Bits of an integer made by ``*``, ``**``, ``<<``, ``int()``, or taken by ``//``, ``%``, ``pow()``."""
MAX_ROUND_DIGITS = 400
"""``round(x, n)`` with |n| above this computes 10**|n| first: refused."""
MAX_DEPTH = 100
"""Nesting of lists and dicts in task data (deeper data breaks JSON encoders), of tuples given to hash()."""

SCRIPT_FILENAME = "<bpmn-script>"


class SandboxError(Exception):
    """A script or expression was refused or failed. str() is the technical message (for logs and the process
    owner's `detail`); `reason` and `params` are what the reader is told (`engine.errors.Code.RUN_*`, worded
    by the catalogues): a refusal of the sandbox's policy unless the raising site says otherwise."""

    def __init__(self, message: str, reason: str = Code.RUN_NOT_ALLOWED, params: dict[str, Any] | None = None):
        super().__init__(message)
        self.reason = str(reason)
        self.params = dict(params or {})


class ScriptLimitExceeded(SandboxError, WorkflowException):
    """Model code was stopped at a limit: the code is at fault, not the request that ran it.

    `limit` names the limit: ``lines``, ``time``, ``size``, ``depth`` (recursion), ``cpu``, ``memory``, ``crash``
    (the isolated worker died, e.g. of a C stack overflow). `element_id` is the BPMN/DMN element whose code it
    was, when the engine knows it. A SpiffWorkflow ``WorkflowException`` too, so code that handles engine errors
    handles this one.
    """

    def __init__(self, message: str, limit: str, element_id: str | None = None,
                 params: dict[str, Any] | None = None):
        super().__init__(message, Code.RUN_LIMIT, {**(params or {}), "limit": limit})
        self.message = message
        self.limit = limit
        self.element_id = element_id

    def at(self, task) -> ScriptLimitExceeded:
        """The same stop, naming the element of `task` (a SpiffWorkflow task)."""
        element_id = task.task_spec.bpmn_id
        stopped = ScriptLimitExceeded(f"element '{element_id}': {self.message}", self.limit, element_id,
                                      self.params)
        stopped.task_spec = task.task_spec
        return stopped

    def __str__(self) -> str:
        return ". ".join([self.message, *self.notes])


class LimitStop(BaseException):
    """Raised by the tracer. A BaseException, so that no ``except`` clause a script may write catches it:
    raising from a trace function switches tracing off for the thread, and a caught stop would let the
    script go on unbounded."""

    def __init__(self, message: str, line: int, limit: str):
        super().__init__(message)
        self.line = line
        self.limit = limit


# --- Per-call state --------------------------------------------------------------------------

class Budget:
    """Budget of one evaluate/execute call; lives on the calling thread only."""

    def __init__(self):
        self.lines = 0
        self.produced = 0
        self.deadline = time.thread_time() + MAX_SECONDS
        self.wall_deadline = time.monotonic() + MAX_WALL_SECONDS
        self.stop: LimitStop | None = None

    def charge(self, size: int, what: str) -> None:
        """Account for a value of `size` elements/characters before it is made."""
        if size > MAX_ITEMS:
            raise ScriptLimitExceeded(f"{what} would make a value of more than {MAX_ITEMS:,} elements/characters",
                                      "size")
        self.produced += size
        if self.produced > MAX_PRODUCED:
            raise ScriptLimitExceeded(f"exceeded the limit of {MAX_PRODUCED:,} elements/characters made in one run "
                                      f"(at {what})", "size")

    def step(self, line: int) -> None:
        """Count one executed line and stop the script at the limits.

        Once stopped, every further line (an `except` clause being matched while the stop unwinds)
        raises the same stop again, so the report names the line where the limit was reached.
        """
        if self.stop is None:
            self.lines += 1
            if self.lines > MAX_LINES:
                self.stop = LimitStop(f"exceeded the limit of {MAX_LINES:,} executed lines", line, "lines")
            elif time.thread_time() > self.deadline:
                self.stop = LimitStop(f"exceeded the time limit of {MAX_SECONDS:g} s of CPU", line, "time")
            elif time.monotonic() > self.wall_deadline:
                self.stop = LimitStop(f"exceeded the wall-clock limit of {MAX_WALL_SECONDS:g} s", line, "time")
        if self.stop is not None:
            raise self.stop

    def trace(self, frame, event, arg):
        """sys.settrace hook: count the lines of sandboxed code only."""
        if frame.f_code.co_filename != SCRIPT_FILENAME:
            return None
        if event == "line":
            self.step(frame.f_lineno)
        return self.trace


_state = threading.local()


@contextmanager
def running(traced: bool) -> Iterator[None]:
    """Make a fresh budget current on this thread; with `traced`, also install its tracer.

    sys.settrace only affects the calling thread; the previous tracer (a debugger, coverage) is put back.
    """
    run = Budget()
    outer_run = getattr(_state, "run", None)
    outer_trace = sys.gettrace()
    _state.run = run
    if traced:
        sys.settrace(run.trace)
    try:
        yield
    finally:
        if traced:
            sys.settrace(outer_trace)
        _state.run = outer_run


def charge(size: int, what: str) -> None:
    """Charge `size` elements/characters to the current call's budget."""
    _state.run.charge(size, what)


def loop_step(line: int) -> None:
    """Called at the top of every `while` body. CPython 3.11 reports no line event for a loop that jumps
    to itself (`while True: pass`), so the tracer alone would never see it spin."""
    _state.run.step(line)
