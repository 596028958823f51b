"""Model code in separate worker processes, so that no script or expression can stall or crash the server.

Each process that runs workflows (a web worker, the timer worker, a command) gets its own pool, created the first
time it is needed and never inherited across fork: a child of fork (gunicorn's workers) starts a pool of its own.
A call takes an idle worker, sends it the code and data, and waits at most WALL_SECONDS; a worker that overruns
is killed, one that dies (CPU limit, memory, a C stack overflow) is noticed by the closed pipe, and either way a
replacement is started at once. The stop reaches the caller as ScriptLimitExceeded. Per expression, not per engine
step: measured in docs/PERFORMANCE.md, a task evaluates a handful of expressions, and a round trip costs far less
than moving the workflow's state to a worker and back (docs/ARCHITECTURE.md, "Model code").
"""
from __future__ import annotations

import ast
import atexit
import os
import pickle
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from engine.errors import Code
from engine.workflow.sandbox import wire
from engine.workflow.sandbox.budget import SandboxError, ScriptLimitExceeded
from engine.workflow.sandbox.environment import SandboxedEnvironment, checked_tree
from engine.workflow.sandbox.expressions import require_text
from engine.workflow.sandbox.scripts import check_task_data

WALL_SECONDS = 3.0
"""Wall-clock time one call may take before its worker is killed (the script tracer itself stops at 1 s of CPU
or 2.5 s)."""
CPU_SECONDS = 2
"""CPU seconds one call may use (RLIMIT_CPU, whole seconds)."""
MEMORY_BYTES = 512 * 1024 * 1024
"""Address space of a worker (RLIMIT_AS); an idle one maps about 30 MiB (24 MiB resident)."""
STACK_BYTES = 4 * 1024 * 1024
"""Stack of a worker (RLIMIT_STACK)."""
POOL_SIZE = 4
"""Workers per server process at most; more callers at once wait for one to come free."""
START_SECONDS = 30.0
"""How long a new worker may take to import the sandbox (a loaded machine is slow to start Python)."""
WAIT_SECONDS = 60.0
"""How long a call waits for a free worker before it gives up."""

_ROOT = str(Path(__file__).resolve().parents[3])
#: Why model code did not run when no worker could run it (`engine.errors.Code`).
_UNAVAILABLE = Code.RUN_SANDBOX_UNAVAILABLE
_SIGNALS = {signal.SIGXCPU: ("cpu", "used more than {cpu} s of CPU time"),
            signal.SIGKILL: ("memory", "was killed by the system (out of memory?)"),
            signal.SIGSEGV: ("crash", "crashed the worker running it (stack overflow: values nested too deeply?)"),
            signal.SIGBUS: ("crash", "crashed the worker running it"),
            signal.SIGABRT: ("crash", "crashed the worker running it")}


class _Stale(Exception):
    """The worker cannot answer this request: it died while idle (killed from outside), or what it sent is an
    answer to an earlier request. Model code has no side effects, so the request may run again on another."""


class _Worker:
    """One worker process and its two pipes; used by one thread at a time."""

    def __init__(self):
        code = (f"import sys; sys.path.insert(0, {_ROOT!r}); from engine.workflow.sandbox.worker import main; "
                f"main({CPU_SECONDS}, {MEMORY_BYTES}, {STACK_BYTES})")
        # -I: no user site, no PYTHON* variables; an empty environment keeps the server's secrets out
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-I", "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env={"LANG": "C.UTF-8"}, cwd="/", close_fds=True)
        self.ready = False

    def call(self, request: bytes, call_id: str) -> dict:
        """Send one request and wait for its answer, decoded; raise ScriptLimitExceeded if the worker fails."""
        if not self.ready:
            self._receive(START_SECONDS, starting=True)
            self.ready = True
        if self.process.poll() is not None:
            raise _Stale()
        try:
            wire.write_frame(self.process.stdin.fileno(), request)
        except OSError:  # BrokenPipeError: it died since its last answer, before reading this request
            raise _Stale() from None
        answer = self._receive(WALL_SECONDS, starting=False)
        if answer.get("id") != call_id:  # a frame a subverted worker queued earlier: a fresh worker runs it again
            self.kill()
            raise _Stale()
        try:  # what a subverted worker could send instead is refused, never trusted, and ends the worker
            for key in ("value", "context"):
                if key in answer:
                    answer[key] = wire.decode(answer[key])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            self.kill()
            raise SandboxError(f"a sandbox worker sent an answer that cannot be read ({err})", _UNAVAILABLE) from None
        return answer

    def _receive(self, seconds: float, starting: bool) -> dict:
        try:
            answer = wire.load(wire.read_frame(self.process.stdout.fileno(), time.monotonic() + seconds))
            if not isinstance(answer, dict):
                raise ValueError("not an object")
            return answer
        except wire.WireTimeout:
            self.kill()
            if starting:
                raise SandboxError(f"a sandbox worker did not start within {seconds:g} s",
                                   _UNAVAILABLE) from None
            raise ScriptLimitExceeded(f"stopped after {WALL_SECONDS:g} s (wall-clock limit)", "time") from None
        except wire.WireClosed:
            if starting:
                self.kill()
                raise SandboxError(f"a sandbox worker could not start (exit code {self.process.returncode})",
                                   _UNAVAILABLE) from None
            raise self._death() from None
        except ValueError:  # not a JSON object: never trust that worker again
            self.kill()
            raise SandboxError("a sandbox worker sent an answer that cannot be read", _UNAVAILABLE) from None

    def _death(self) -> ScriptLimitExceeded:
        self.kill()
        code = self.process.returncode
        limit, message = _SIGNALS.get(-code, ("crash", f"ended the worker running it (exit code {code})"))
        return ScriptLimitExceeded(message.format(cpu=CPU_SECONDS), limit)

    def kill(self) -> None:
        """End the process now and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.close()

    def close(self) -> None:
        """Close this process's ends of the pipes (the worker reads end-of-file and exits)."""
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass


class WorkerPool:
    """Up to `size` workers of the process that made the pool; thread-safe."""

    def __init__(self, size: int = POOL_SIZE):
        self.pid = os.getpid()
        self.size = size
        self._idle: list[_Worker] = [_Worker()]  # warm: the first call should not wait for Python to start
        self._count = 1
        self._free = threading.Condition()

    def call(self, request: bytes, call_id: str) -> dict:
        """Run `request` (whose answer must carry `call_id`) on a worker; a worker that fails is replaced before
        the error is raised. A worker found dead before the request reached it (or holding an earlier answer) is
        replaced by a new one started for this request alone, so that with many callers at once no other caller
        can take the replacement first and hand this one a second dead worker."""
        worker = self._take()
        for retry in (False, True):
            try:
                answer = worker.call(request, call_id)
                break
            except _Stale:
                worker.kill()
                if retry:
                    self._replace()
                    raise SandboxError("two sandbox workers in a row could not answer this request (they died "
                                       "before it reached them, or answered another one)",
                                       _UNAVAILABLE) from None
                worker = _Worker()  # takes the dead one's place in the count
            except BaseException:
                worker.kill()
                self._replace()
                raise
        if answer.get("limit") == "memory":  # it stops after such an answer
            worker.kill()
            self._replace()
        else:
            self._give_back(worker)
        return answer

    def _take(self) -> _Worker:
        deadline = time.monotonic() + WAIT_SECONDS
        with self._free:
            while not self._idle:
                if self._count < self.size:
                    self._count += 1
                    return _Worker()
                if not self._free.wait(deadline - time.monotonic()):
                    raise SandboxError(f"no sandbox worker came free within {WAIT_SECONDS:g} s", _UNAVAILABLE)
            return self._idle.pop()

    def _give_back(self, worker: _Worker) -> None:
        with self._free:
            self._idle.append(worker)
            self._free.notify()

    def _replace(self) -> None:
        """A failed worker's place goes to a new one, started now so the next caller finds it warm."""
        with self._free:
            self._idle.append(_Worker())
            self._free.notify()

    def workers(self) -> list[int]:
        """Process ids of the idle workers (for tests and diagnostics)."""
        with self._free:
            return [worker.process.pid for worker in self._idle]

    def close(self) -> None:
        """Stop every idle worker (at exit)."""
        with self._free:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.close()
            try:
                worker.process.wait(timeout=1)
            except subprocess.TimeoutExpired:
                worker.kill()

    def abandon(self) -> None:
        """In a child of fork: let go of the parent's workers without touching them."""
        for worker in self._idle:
            worker.close()
        self._idle = []


_pool: WorkerPool | None = None
_pool_lock = threading.Lock()


def pool() -> WorkerPool:
    """This process's pool, made on first use (after any fork: a pool never crosses one)."""
    global _pool
    current = _pool
    if current is not None and current.pid == os.getpid():
        return current
    with _pool_lock:
        if _pool is None or _pool.pid != os.getpid():
            _pool = WorkerPool()
        return _pool


def _forget_pool_after_fork() -> None:
    global _pool, _pool_lock
    inherited, _pool = _pool, None
    _pool_lock = threading.Lock()  # another thread may have held it at the fork
    if inherited is not None:
        inherited.abandon()


def _close_pool() -> None:
    if _pool is not None and _pool.pid == os.getpid():
        _pool.close()


os.register_at_fork(after_in_child=_forget_pool_after_fork)
atexit.register(_close_pool)


_LITERAL_NODES = (ast.Constant, ast.Tuple, ast.List, ast.Set, ast.Dict, ast.Load)


def _is_literal(node: ast.AST) -> bool:
    """Literal values only (no names, calls or operators): nothing to compute, so nothing to isolate."""
    return all(isinstance(child, _LITERAL_NODES) for child in ast.walk(node))


def _answered(answer: dict):
    if "limit" in answer:
        raise ScriptLimitExceeded(answer["message"], answer["limit"], params=answer.get("params"))
    if "error" in answer:
        raise SandboxError(answer["error"], answer.get("reason", Code.RUN_NOT_ALLOWED), answer.get("params"))
    return answer


class IsolatedEnvironment(SandboxedEnvironment):
    """SandboxedEnvironment whose expressions and scripts run in this process's worker pool.

    The workers run the same restricted evaluator and compiled scripts with the same guards (defence in depth);
    only service tasks (the server's own code) run here.
    """

    def __init__(self, functions: dict | None = None, service_handler=None):
        """As SandboxedEnvironment; `functions` must be module-level functions (they are sent by reference)."""
        super().__init__(functions, service_handler)
        try:
            pickle.dumps(self._functions)
        except (pickle.PicklingError, AttributeError, TypeError) as err:
            raise ValueError(f"functions for isolated model code must be module-level functions: {err}") from None

    def _call(self, operation: str, source: str, context: dict, external_context, key: str):
        call_id = secrets.token_hex(8)  # unguessable: no worker can queue an answer for a later request
        try:
            request = pickle.dumps((call_id, operation, source, context, external_context, self._functions))
        except (pickle.PicklingError, AttributeError, TypeError) as err:
            raise SandboxError(f"task data cannot be sent to the sandbox: {err}", Code.RUN_DATA_NOT_SENDABLE) \
                from None
        answer = _answered(pool().call(request, call_id))
        if key not in answer:
            raise SandboxError(f"a sandbox worker sent an answer without {key}", _UNAVAILABLE)
        return answer[key]

    def evaluate(self, expression, context, external_context=None):
        """The value of `expression`, computed by a worker unless nothing needs computing: a literal (a DMN
        output "P7D", a timer "PT2H") is its own value and a bare name is a lookup, both without a round trip."""
        body = checked_tree(expression).body  # refused here, with the same message
        if _is_literal(body):
            return ast.literal_eval(body)
        if isinstance(body, ast.Name):
            for names in (context, external_context or {}):  # the task data wins, as in the evaluator
                if body.id in names:
                    return names[body.id]
        return self._call("evaluate", expression, context, external_context, "value")

    def execute(self, script, context, external_context=None):
        """Run `script` in a worker; on success `context` holds the script's variables."""
        kept = self._call("execute", require_text(script), context, external_context, "context")
        if not isinstance(kept, dict):
            raise SandboxError("a sandbox worker sent task data that is not a dict", _UNAVAILABLE)
        check_task_data(kept)  # checked in the worker too; here it costs little and trusts nothing
        context.clear()
        context.update(kept)
        return True
