"""The sentences of a model's failure while it runs (`engine.errors.Code.STEP_FAILED*` and the `RUN_*` reasons
they carry), worded by `web.messages` like every other code; kept apart because there are many
(docs/ARCHITECTURE.md, "Errors"; docs/MODELLING.md, "When a model fails while it runs")."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import Code
from web.mail import N_

#: The failure as a whole; `%(reason)s` is the reason's sentence (`reason_text`).
STEP_TEXTS: dict[str, str] = {
    Code.MODEL_FAILED: N_("The process model failed; nothing was saved."),
    Code.STEP_FAILED: N_("The process model failed: %(reason)s"),
    Code.STEP_FAILED_AT: N_("The process model failed at the element %(element)s: %(reason)s"),
    Code.CASE_START_FAILED: N_("start: the process model failed at the element %(element)s: %(reason)s"),
    Code.CASE_MODEL_FAILED: N_("step %(step)s: the process model failed at the element %(element)s: %(reason)s"),
    Code.TIMER_FAILED: N_("Firing the timer failed (an error of the kind %(kind)s)."),
    Code.MAIL_FAILED: N_("Filing the message failed (an error of the kind %(kind)s)."),
    Code.MAIL_CRASHED: N_("Attempt %(n)s of %(max)s did not finish: the worker stopped while filing the message "
                          "(killed or crashed)."),
    Code.TIMER_CRASHED: N_("Attempt %(n)s of %(max)s did not finish: the worker stopped while firing this timer "
                           "(killed or crashed)."),
}
#: Why one of a model's own test cases failed (`engine.modelling.cases`); `%(errors)s` are a form's refusals.
CASE_TEXTS: dict[str, str] = {
    Code.CASE_NOT_RUN_LOOPS: N_("not run: the model loops at %(element)s (see the first failing case)"),
    Code.CASE_ERROR: N_("the case cannot be run (%(kind)s)."),
    Code.CASE_TASK_NOT_OPEN: N_("step %(step)s: expected task %(task)s to be open; open: %(open)s"),
    Code.CASE_NO_MESSAGE_WAITER: N_("step %(step)s: nothing waits for message %(message)s"),
    Code.CASE_STEP_UNKNOWN: N_("step %(step)s: a step needs 'task', 'message' or 'wait'"),
    Code.CASE_START_FIELD: N_("start: field %(field)s: %(errors)s"),
    Code.CASE_STEP_FIELD: N_("step %(step)s (%(task)s): field %(field)s: %(errors)s"),
    Code.CASE_END: N_("end: expected %(expected)s, reached %(reached)s (still open: %(open)s)"),
    Code.CASE_OPEN: N_("open tasks: expected %(expected)s, found %(found)s"),
    Code.CASE_VARIABLE: N_("variable %(name)s: expected %(expected)s, got %(got)s"),
    Code.CASE_PATH: N_("path: %(element)s not passed (in this order); path was %(path)s"),
}
#: Why it failed; `%(name)s` are the reason's params.
RUN_TEXTS: dict[str, str] = {
    Code.RUN_LOOPED: N_("it ran %(steps)s engine steps in %(seconds)s s without reaching a task that waits for "
                        "people, a timer or a message (the limits are %(max_steps)s steps, %(max_cpu)s s of CPU "
                        "and %(max_seconds)s s). It loops: a cycle of gateways or scripts, or a call activity "
                        "that calls its own process."),
    Code.RUN_UNTYPED_TASK: N_("a task without a type is nobody's work here, so the complaint would stop at it. "
                              "Make it a user task or a script task."),
    Code.RUN_NO_PATH: N_("none of the gateway's conditions is true and it has no default flow."),
    Code.RUN_UNDEFINED_NAME: N_("the name %(name)s is not defined (no variable of the complaint has it)."),
    Code.RUN_UNDEFINED_FUNCTION: N_("the function %(function)s does not exist."),
    Code.RUN_MISSING_KEY: N_("the key %(key)s is missing from the data."),
    Code.RUN_INDEX_OUT_OF_RANGE: N_("a list has no item at the position asked for."),
    Code.RUN_DIVISION_BY_ZERO: N_("a division by zero."),
    Code.RUN_WRONG_TYPE: N_("a value of the wrong type was used (%(kind)s)."),
    Code.RUN_BAD_VALUE: N_("a value could not be used as asked (%(kind)s)."),
    Code.RUN_SYNTAX: N_("the code has a syntax error at line %(line)s."),
    Code.RUN_NOT_ALLOWED: N_("the code uses something the sandbox does not allow."),
    Code.RUN_LIMIT: N_("the code was stopped at the sandbox's limit of %(limit)s."),
    Code.RUN_DATA_NOT_STORABLE: N_("the variable %(variable)s cannot be stored: task data holds only texts, "
                                   "numbers, yes/no, lists and objects, of limited size and depth."),
    Code.RUN_DATA_NOT_SENDABLE: N_("the task data cannot be passed to or from the sandbox: it holds values that "
                                   "are not plain data."),
    Code.RUN_NAMES_HIDDEN: N_("the complaint's variables %(names)s hide names the script needs; rename them."),
    Code.RUN_SANDBOX_UNAVAILABLE: N_("the sandbox that runs model code could not run it now; try again."),
    Code.RUN_ENGINE_ERROR: N_("the workflow engine could not run it (an error of the kind %(kind)s)."),
    Code.RUN_DURATION_NOT_FIXED: N_("the duration %(duration)s has years or months, which have no fixed length; "
                                    "use days, hours or minutes."),
    Code.RUN_RATIO_RANGE: N_("the ratio %(ratio)s is not between 0 and 1."),
    Code.RUN_WORKING_TIME_TOO_FAR: N_("%(duration)s of working time after %(start)s ends more than ten years later."),
    Code.RUN_UNKNOWN_BASIS: N_("there is no time basis %(basis)s; use one of %(bases)s."),
}
#: What the sandbox refuses (`construct`, with its `name`), said instead of its words when it names it: at run
#: time as `RUN_NOT_ALLOWED`'s sentence, at deploy as `EXPRESSION_REFUSED`'s.
REFUSALS = {
    "import": N_("import statements are not allowed."),
    "class": N_("class definitions are not allowed."),
    "with": N_("with statements are not allowed."),
    "yield": N_("yield is not allowed."),
    "finally": N_("try/finally is not allowed."),
    "bare_except": N_("a bare except: is not allowed; name the error, e.g. except ValueError:"),
    "except_names": N_("an except clause must name exception classes, e.g. except (KeyError, ValueError):"),
    "catch": N_("scripts cannot catch %(name)s; catch Exception or one of its subclasses."),
    "attribute": N_("the attribute .%(name)s is not allowed."),
    "call": N_("calling %(name)s() is not allowed."),
    "underscore_name": N_("names starting with _ are not allowed (%(name)s)."),
    "node": N_("%(name)s is not allowed in expressions."),
    "double_star": N_("** arguments are not allowed."),
}
#: The sandbox's limits (`ScriptLimitExceeded.limit`), as the `limit` param names them.
LIMITS = {"lines": N_("executed lines"), "time": N_("running time"), "size": N_("value size"),
          "depth": N_("nesting depth"), "cpu": N_("CPU time"), "memory": N_("memory"),
          "crash": N_("a crash of its worker process")}
#: Where in the model code it failed, said after the reason (`WITH_PLACE` joins them: no space in Chinese).
IN_EXPRESSION = N_("It failed in the expression %(expression)s.")
AT_LINE = N_("It failed at line %(line)s of the script.")
WITH_PLACE = N_("%(reason)s %(place)s")


def reason_text(params: Mapping[str, Any], gettext: Callable[[str], str],
                fill: Callable[[str, str, Mapping[str, Any]], str]) -> str:
    """The sentence of a failure's `reason` with its params and where it failed; `fill` words one code's text."""
    reason = str(params.get("reason") or Code.RUN_ENGINE_ERROR)
    values = dict(params)
    if reason == Code.RUN_LIMIT and values.get("limit") in LIMITS:
        values["limit"] = gettext(LIMITS[values["limit"]])
    refusal = REFUSALS.get(values.get("construct", "")) if reason == Code.RUN_NOT_ALLOWED else None
    text = fill(refusal or RUN_TEXTS.get(reason, RUN_TEXTS[Code.RUN_ENGINE_ERROR]), reason, {"kind": "?", **values})
    if params.get("expression"):
        place = gettext(IN_EXPRESSION) % {"expression": params["expression"]}
    elif params.get("line") and reason != Code.RUN_SYNTAX:
        place = gettext(AT_LINE) % {"line": params["line"]}
    else:
        return text
    return gettext(WITH_PLACE) % {"reason": text, "place": place}
