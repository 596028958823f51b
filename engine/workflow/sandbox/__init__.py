"""Sandbox for the Python that BPMN and DMN models carry: scripts, conditions, timers, decision rules.

SpiffWorkflow's default environment runs every condition with ``eval`` and every script with ``exec`` and full
builtins, so a model can run ``__import__("os").system(...)``; restricted globals alone are no sandbox
(docs/ARCHITECTURE.md, "Model code"). This package replaces that environment, in layers:

* `expressions`: gateway conditions, timer values and DMN entries are interpreted by simpleeval, never compiled.
* `scripts`: script tasks and pre/post scripts are compiled by RestrictedPython with a stricter policy and run
  with guards for attribute, item and iteration access and a reduced set of builtins.
* `budget`, `guards`, `methods`: work is bounded. A tracer counts the lines a script executes and watches its
  CPU time and a wall-clock deadline; operations that grow values or take super-linear time (``*``, ``**``,
  ``<<``, ``%``, ``//``, ``round``, ``pow``, ``int()``, padding, ``join``, ``split``, copies, formatting,
  ``range``, ``hash``) are checked *before* they run. What a script leaves behind must be plain JSON data
  (SpiffWorkflow serializes task data).
* `isolation` (with `worker` and `wire`): all of the above runs in separate worker processes under operating-
  system limits (CPU seconds, address space, stack) and a wall-clock timeout, so what no check foresees (one
  C-level operation that runs for minutes, a crash of the interpreter) ends a worker, never the server.

A stop at a limit is `ScriptLimitExceeded` (a SandboxError and a SpiffWorkflow WorkflowException) naming the limit
and, when it comes through the script engine, the BPMN/DMN element. The engine is not serialized: set
``workflow.script_engine`` again after every deserialization.
"""
from __future__ import annotations

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from engine.workflow.sandbox.budget import SandboxError, ScriptLimitExceeded
from engine.workflow.sandbox.environment import SandboxedEnvironment, SandboxedScriptEngine
from engine.workflow.sandbox.expressions import EXPRESSION_CALLABLES, check_expression
from engine.workflow.sandbox.isolation import IsolatedEnvironment
from engine.workflow.sandbox.scripts import SCRIPT_BUILTINS, check_script

__all__ = [
    "IsolatedEnvironment", "SandboxError", "SandboxedEnvironment", "SandboxedScriptEngine", "ScriptLimitExceeded",
    "callable_names", "check_expression", "check_script", "make_script_engine",
]


def make_script_engine(functions: dict | None = None, service_handler=None, isolated: bool = False
                       ) -> PythonScriptEngine:
    """A script engine whose model code runs sandboxed: in worker processes with `isolated` (what the server
    uses), else in the calling thread (tests of the sandbox itself, benchmarks of the raw engine)."""
    environment = (IsolatedEnvironment if isolated else SandboxedEnvironment)(functions, service_handler)
    return SandboxedScriptEngine(environment=environment)


def callable_names(kind: str) -> frozenset[str]:
    """The names model code of `kind` ("script" or "expression") can call without defining them, before the
    functions an environment adds (`engine.workflow.functions`)."""
    if kind == "script":
        return frozenset(name for name, value in SCRIPT_BUILTINS.items() if callable(value)) | {"print"}
    if kind == "expression":
        return EXPRESSION_CALLABLES
    raise ValueError(f"kind must be 'script' or 'expression', not {kind!r}")
