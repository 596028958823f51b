"""The SpiffWorkflow script environment built from the parts of this package, and the engine around it."""
from __future__ import annotations

import ast
import copy
import types
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine.errors import Code
from engine.workflow.sandbox.budget import LimitStop, SandboxError, ScriptLimitExceeded, running
from engine.workflow.sandbox.expressions import ExpressionEvaluator, expression_tree, require_text
from engine.workflow.sandbox.reasons import reason_of, shown
from engine.workflow.sandbox.scripts import (
    RESERVED_NAMES,
    SCRIPT_GLOBALS,
    check_task_data,
    compile_script,
    script_line,
)


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, SandboxError) else f"{type(exc).__name__}: {exc}"


def _failure(where: str, place: dict[str, Any], exc: Exception) -> SandboxError:
    """The error to raise for `exc` raised by model code at `place` (`expression` or `line`); limits keep their
    class and name, a Python error becomes its reason (`reasons.reason_of`)."""
    if isinstance(exc, ScriptLimitExceeded):
        return ScriptLimitExceeded(f"{where}: {exc.message}", exc.limit, params={**exc.params, **place})
    if isinstance(exc, MemoryError):
        return ScriptLimitExceeded(f"{where}: ran out of memory", "memory", params=place)
    if isinstance(exc, RecursionError):
        return ScriptLimitExceeded(f"{where}: RecursionError: {exc}", "depth", params=place)
    if isinstance(exc, SandboxError):
        return SandboxError(f"{where}: {exc}", exc.reason, {**exc.params, **place})
    reason, params = reason_of(exc)
    return SandboxError(f"{where}: {_describe(exc)}", reason, {**params, **place})


def checked_tree(expression) -> ast.Expression:
    """`expression_tree`, with a refusal naming the expression (where a failure of model code is told)."""
    try:
        return expression_tree(require_text(expression))
    except SandboxError as err:
        err.params.setdefault("expression", shown(expression))
        raise


class SandboxedEnvironment(BasePythonScriptEngineEnvironment):
    """SpiffWorkflow script environment that evaluates expressions with simpleeval and runs scripts under
    RestrictedPython, both within the limits of `budget`, in the calling thread. Safe to share between threads.

    This is the environment the isolated workers run (`isolation.IsolatedEnvironment` sends them the calls).
    """

    def __init__(self, functions: dict | None = None, service_handler=None):
        """`functions`: extra callables by name for expressions and scripts (never stored in task data).
        `service_handler(context, **kwargs)`: what service tasks call, if any."""
        super().__init__()
        self._functions = dict(functions or {})
        for name, function in self._functions.items():
            if not name.isidentifier() or name.startswith("_") or not callable(function):
                raise ValueError(f"function {name!r}: needs a callable under a name not starting with '_'")
        self._service_handler = service_handler

    def evaluate(self, expression, context, external_context=None):
        """The value of `expression` with the task data `context` (and `external_context`) as names."""
        tree = checked_tree(expression)
        # the task data wins over the external context, as in SpiffWorkflow's TaskDataEnvironment
        evaluator = ExpressionEvaluator({**(external_context or {}), **context}, self._functions)
        with running(traced=False):
            try:
                return evaluator.eval(expression, previously_parsed=tree.body)
            except Exception as exc:
                raise _failure(f"expression {expression!r}", {"expression": shown(expression)}, exc) from exc

    def execute(self, script, context, external_context=None):
        """Run `script` on the task data `context`; on success `context` holds the script's variables.

        The script works on a copy, so a refused or failed script leaves `context` as it was. Functions,
        external names and helpers are not kept; everything kept must be plain JSON data.
        """
        code = compile_script(require_text(script))
        external = external_context or {}
        hidden = set(context) & (set(external) | set(self._functions) | RESERVED_NAMES)
        if hidden:
            names = ", ".join(sorted(hidden))
            raise SandboxError(f"task data variable(s) {names} would hide names the script needs; rename them",
                               Code.RUN_NAMES_HIDDEN, {"names": names})
        namespace = copy.deepcopy(context)
        namespace.update(external)
        namespace.update(self._functions)
        namespace.update(SCRIPT_GLOBALS)
        with running(traced=True):
            try:
                exec(code, namespace)  # noqa: S102 - restricted code object, guarded namespace
            except LimitStop as stop:
                raise ScriptLimitExceeded(f"script stopped at line {stop.line}: {stop}", stop.limit,
                                          params={"line": stop.line}) from None
            except Exception as exc:
                line = script_line(exc)
                raise _failure(f"script line {line}" if line else "script", {"line": line} if line else {},
                               exc) from exc
        kept = {
            name: value for name, value in namespace.items()
            if name not in RESERVED_NAMES and name not in self._functions and name not in external
            and not callable(value) and not isinstance(value, types.ModuleType)
        }
        check_task_data(kept)
        context.clear()
        context.update(kept)
        return True

    def call_service(self, context, **kwargs):
        """Delegate a service task to the configured handler."""
        if self._service_handler is None:
            raise SandboxError("service tasks are not available: no service handler is configured",
                               Code.RUN_SANDBOX_UNAVAILABLE)
        return self._service_handler(context, **kwargs)


class SandboxedScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine around a sandboxed environment: a stop at a limit leaves it as
    ScriptLimitExceeded naming the BPMN/DMN element, instead of a generic task error."""

    def evaluate(self, task, expression, external_context=None):
        """Evaluate `expression` on `task`'s data."""
        try:
            return super().evaluate(task, expression, external_context)
        except ScriptLimitExceeded as stop:
            stopped = stop.at(task)
        raise stopped  # outside the handler: the element's stop, with no other error attached to it

    def execute(self, task, script, external_context=None):
        """Run `script` on `task`'s data."""
        try:
            return self.environment.execute(script, task.data, external_context or {})
        except ScriptLimitExceeded as stop:
            stopped = stop.at(task)
        except Exception as err:
            raise self.create_task_exec_exception(task, script, err) from err
        raise stopped
