"""The sandbox worker process: runs model code sent by the server under operating-system limits.

Started by `isolation` as ``python -I -c ...`` with an empty environment. It sets its own limits before it reads
anything (address space, stack, no core files, no new processes), then answers one request at a time; before each
it sets the CPU-time limit to what it has used plus the budget of one call, so SIGXCPU ends a single C-level
operation that runs away (``pow``, huge ``//``) and a C stack overflow ends this process, never the server.
"""
from __future__ import annotations

import math
import os
import pickle
import resource
import sys

from engine.errors import Code
from engine.workflow.sandbox import wire
from engine.workflow.sandbox.budget import SandboxError, ScriptLimitExceeded
from engine.workflow.sandbox.environment import SandboxedEnvironment


def _set_limit(kind: int, soft: int) -> None:
    _, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(kind, (soft, hard))


def _set_limits(memory_bytes: int, stack_bytes: int) -> None:
    _set_limit(resource.RLIMIT_AS, memory_bytes)
    _set_limit(resource.RLIMIT_STACK, stack_bytes)
    _set_limit(resource.RLIMIT_CORE, 0)
    _set_limit(resource.RLIMIT_NPROC, 0)  # no fork, no threads: model code has no use for them


def _set_cpu_budget(seconds: int) -> None:
    used = resource.getrusage(resource.RUSAGE_SELF)
    _set_limit(resource.RLIMIT_CPU, math.ceil(used.ru_utime + used.ru_stime) + seconds)


def _run(request: tuple) -> dict:
    _call_id, operation, source, context, external_context, functions = request
    environment = SandboxedEnvironment(functions=functions)
    if operation == "evaluate":
        return {"value": wire.encode(environment.evaluate(source, context, external_context))}
    environment.execute(source, context, external_context)
    return {"context": wire.encode(context)}


def _answer(request: tuple) -> tuple[dict, bool]:
    """The answer to one request, and whether this worker must stop after it (its heap may be damaged)."""
    try:
        return _run(request), False
    except ScriptLimitExceeded as stop:
        return {"limit": stop.limit, "message": stop.message, "params": stop.params}, stop.limit == "memory"
    except SandboxError as err:
        return {"error": str(err), "reason": err.reason, "params": err.params}, False
    except MemoryError:
        return {"limit": "memory", "message": "ran out of memory"}, True


def _send(answers: int, payload: bytes) -> bool:
    """Write one frame to the server; False when it is gone (killed while this worker ran its request): then
    nobody waits for the answer, and this worker ends quietly, as when the server closes the requests' pipe."""
    try:
        wire.write_frame(answers, payload)
    except BrokenPipeError:
        return False
    return True


def main(cpu_seconds: int, memory_bytes: int, stack_bytes: int) -> None:
    """Serve requests from stdin until the server closes it."""
    answers = os.dup(1)
    os.dup2(2, 1)  # whatever prints to stdout must not corrupt the answers
    requests = sys.stdin.fileno()
    _set_limits(memory_bytes, stack_bytes)
    if not _send(answers, wire.dump({"ready": os.getpid()})):
        return
    while True:
        try:
            request = pickle.loads(wire.read_frame(requests))  # noqa: S301 - sent by the server that started us
        except wire.WireClosed:
            return
        _set_cpu_budget(cpu_seconds)
        answer, retire = _answer(request)
        answer["id"] = request[0]  # the server reads only the answer to the request it sent
        try:
            payload = wire.dump(answer)
        except ValueError as err:  # e.g. an integer too long to write as text
            payload = wire.dump({"error": f"the result cannot leave the sandbox: {err}", "id": request[0],
                                 "reason": Code.RUN_DATA_NOT_SENDABLE})
        if not _send(answers, payload) or retire:
            return
