"""How a model's failure while it runs is reported: `StepFailed`, naming the element that failed and why, as a
reason code with params (`engine.errors.Code.RUN_*`) beside the library's own words as a technical `detail`
(docs/MODELLING.md, "When a model fails while it runs"; docs/ARCHITECTURE.md, "Errors")."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.exceptions import WorkflowException

from engine.errors import Code, InvalidInput
from engine.workflow.sandbox import SandboxError
from engine.workflow.sandbox.reasons import reason_of
from forms.errors import error

#: The technical detail is kept for the process owner, not quoted at length.
MAX_DETAIL = 1000


@dataclass(frozen=True)
class Cause:
    """Why a step failed: a reason code (`Code.RUN_*`), its params, and the library's or Python's own words
    (`detail`, technical: for logs, incidents and the process owner, never the sentence itself)."""

    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    detail: str = ""


class StepFailed(InvalidInput):
    """The model failed while the engine ran it (an error in a script, expression, decision or the engine
    itself, or the step budget ran out: `looped`). Answered like invalid input (422, CLI exit 2): nothing
    was saved. Its field error is `STEP_FAILED_AT` (element) or `STEP_FAILED` with `reason`, the reason's
    params and `detail`; `detail` is also an attribute, the technical text."""

    def __init__(self, element: str | None, cause: Cause, looped: bool = False):
        params = {**cause.params, "reason": cause.reason, "detail": cause.detail}
        failure = error(Code.STEP_FAILED_AT, element=element, **params) if element else \
            error(Code.STEP_FAILED, **params)
        super().__init__({"model": [failure]}, Code.MODEL_FAILED)
        self.element = element
        self.cause = cause
        self.detail = cause.detail
        self.looped = looped


def looped(element: str | None, steps: int, seconds: float, max_steps: int, max_cpu: float,
           max_seconds: float) -> StepFailed:
    """The step budget ran out at `element` after `steps` engine steps in `seconds`: the model loops."""
    detail = (f"{steps} engine steps in {seconds:.1f} s without a wait (limits: {max_steps} steps, "
              f"{max_cpu:g} s of CPU, {max_seconds:g} s)")
    return StepFailed(element, Cause(Code.RUN_LOOPED, {"steps": steps, "seconds": round(seconds, 1),
                                                       "max_steps": max_steps, "max_cpu": max_cpu,
                                                       "max_seconds": max_seconds}, detail), looped=True)


def untyped_task(element: str) -> StepFailed:
    """The workflow stopped at a plain bpmn:task (a version stored before deploying refused it)."""
    return StepFailed(element, Cause(Code.RUN_UNTYPED_TASK, {}, "bpmn:task without a type"))


def failed_element(err: Exception, fallback: str | None) -> str | None:
    """The element a SpiffWorkflow exception names, else `fallback` (the element the engine was running)."""
    spec = getattr(err, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None) or fallback


def explain(err: Exception) -> Cause:
    """Why the engine failed, from any exception it raised while it ran the model: the sandbox's reason when
    model code failed (carried across its worker processes), else the exception's type and attributes, never
    its English message."""
    detail = _technical(err)
    found = _sandbox_error(err)
    if found is not None:
        return Cause(found.reason, dict(found.params), detail)
    spec = getattr(err, "task_spec", None)
    if isinstance(spec, ExclusiveGateway | InclusiveGateway) and _cause_of(err) is None:
        return Cause(Code.RUN_NO_PATH, {}, detail)
    inner = _cause_of(err) if isinstance(err, WorkflowException) else None
    reason, params = reason_of(inner if inner is not None else err)
    return Cause(reason, params, detail)


def _cause_of(err: BaseException) -> BaseException | None:
    return getattr(err, "exception", None) or err.__cause__ or err.__context__


def _sandbox_error(err: BaseException) -> SandboxError | None:
    """The sandbox's error in `err`'s chain (SpiffWorkflow wraps it in a WorkflowTaskException)."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, SandboxError):
            return current
        seen.add(id(current))
        current = _cause_of(current)
    return None


def _technical(err: BaseException) -> str:
    """The library's words: SpiffWorkflow's message (it names the expression) and its cause, on one line."""
    message = " ".join(str(err).split()) or type(err).__name__
    cause = _cause_of(err) if isinstance(err, WorkflowException) else None
    said = " ".join(str(cause).split()) if cause is not None else ""
    if said and said not in message:
        message = f"{message} {said}"
    elif not isinstance(err, WorkflowException):
        message = f"{type(err).__name__}: {message}"
    return message[:MAX_DETAIL] if len(message) > MAX_DETAIL else message
