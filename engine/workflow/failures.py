"""How a model's failure while it runs is reported: `StepFailed`, naming the element that failed and
what went wrong (docs/MODELLING.md, "When a model fails while it runs")."""
from __future__ import annotations

from SpiffWorkflow.exceptions import WorkflowException

from engine.errors import Code, InvalidInput
from forms.errors import error


class StepFailed(InvalidInput):
    """The model failed while the engine ran it (an error in a script, expression, decision or the engine
    itself, or the step budget ran out: `looped`). Answered like invalid input (422, CLI exit 2): nothing
    was saved."""

    def __init__(self, element: str | None, detail: str, looped: bool = False):
        failure = error(Code.STEP_FAILED_AT, element=element, detail=detail) if element else \
            error(Code.STEP_FAILED, detail=detail)
        super().__init__({"model": [failure]}, Code.MODEL_FAILED)
        self.element = element
        self.detail = detail
        self.looped = looped


def looped(element: str | None, steps: int, seconds: float, max_steps: int, max_cpu: float,
           max_seconds: float) -> StepFailed:
    """The step budget ran out at `element` after `steps` engine steps in `seconds`: the model loops."""
    return StepFailed(element, (
        f"the model ran {steps} engine steps in {seconds:.1f} s (the limits are {max_steps} "
        f"steps, {max_cpu:g} s of CPU and {max_seconds:g} s) without reaching a task "
        f"that waits for people, a timer or a "
        f"message; it loops (a cycle of gateways or scripts, or a call activity that calls its own "
        f"process)"), looped=True)


def untyped_task(element: str) -> StepFailed:
    """The workflow stopped at a plain bpmn:task (a version stored before deploying refused it)."""
    return StepFailed(element, "a task without a type is nobody's work here: the complaint "
                               "would stop at it (make it a user task or a script task)")


def failed_element(err: Exception, fallback: str | None) -> str | None:
    """The element a SpiffWorkflow exception names, else `fallback` (the element the engine was running)."""
    spec = getattr(err, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or getattr(spec, "name", None) or fallback


def explain(err: Exception) -> str:
    """What went wrong, from any exception the engine raised while it ran the model."""
    message = " ".join(str(err).split()) or "no detail given"
    if isinstance(err, WorkflowException):
        # SpiffWorkflow's message names the expression; the cause says what was wrong with it
        cause = err.__cause__ or err.__context__
        return f"{message} {' '.join(str(cause).split())}" if cause is not None and str(cause) else message
    return f"the engine could not run it ({type(err).__name__}: {message})"
