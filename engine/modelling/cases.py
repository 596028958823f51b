"""Model tests: cases kept beside a model (`tests/*.json` in its folder) that drive it in memory.

A case gives the intake data, then steps — a user task's form input (one entry per visit), a BPMN
message, or waiting so that timers fire — and what to expect: the end event, key variables, and
elements the path must pass in order. Waiting moves the workflow's timers back instead of the
program's clock, so a run inside the web server disturbs nothing else.

    {"cases": [{"name": "…", "start": {…intake…},
                "steps": [{"task": "judge_validity", "data": {…}}, {"message": "customer_survey", "payload": true},
                          {"wait": "PT31M"}],
                "expect": {"end": "end_archived", "variables": {"round": 1}, "path": ["judge_validity", "gm_review"],
                           "open": ["progress_check"]}}]}
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import Code, ModelCode
from engine.workflow import runtime
from engine.workflow.functions import parse_duration
from engine.workflow.model_forms import TESTS_FOLDER
from engine.workflow.model_xml import ModelInvalid, ModelProblem
from engine.workflow.versions import LoadedVersion
from forms.errors import FieldError, error
from forms.validate import validate


@dataclass
class CaseResult:
    """The outcome of one case: `failures` say where it went wrong (empty when it passed), as codes with
    params (`Code.CASE_*`) that the reader's catalogue words."""

    file: str
    name: str
    failures: list[FieldError] = field(default_factory=list)
    #: The step being run (0: the start), for a failure of the model to say where it happened.
    step: int = 0
    path: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def read_cases(files: dict[str, str]) -> dict[str, list[dict]]:
    """The cases of every test file in a bundle (`tests/*.json`), by file. Raises ModelInvalid naming the file
    (and the line) of one that is not JSON or holds no "cases" list."""
    cases = {}
    for path, text in sorted(files.items()):
        if path.startswith(TESTS_FOLDER) and path.endswith(".json"):
            try:
                document = json.loads(text)
            except json.JSONDecodeError as err:
                raise ModelInvalid([ModelProblem(path, err.lineno, None, ModelCode.TEST_CASES_UNREADABLE,
                                                 {"line": err.lineno, "column": err.colno, "detail": err.msg})]
                                   ) from err
            if not isinstance(document, dict) or not isinstance(document.get("cases"), list):
                raise ModelInvalid([ModelProblem(path, None, None, ModelCode.TEST_CASES_NO_LIST)])
            cases[path] = document["cases"]
    return cases


def run_cases(version: LoadedVersion, cases_by_file: dict[str, list[dict]]) -> list[CaseResult]:
    """Run every case; never raises for a failing or broken case (that is a failed result)."""
    results = []
    looped = None
    for path, cases in cases_by_file.items():
        for index, case in enumerate(cases):
            result = CaseResult(file=path, name=str(case.get("name") or f"case {index + 1}"))
            if looped is not None:  # each case would spend the whole step budget again: the first one tells
                result.failures.append(error(Code.CASE_NOT_RUN_LOOPS, element=looped))
                results.append(result)
                continue
            try:
                _run(version, case, result)
            except runtime.StepFailed as err:  # the model failed while it ran, or looped past the step budget
                [failure] = err.errors["model"]
                params = {"element": "-", **failure.params}
                result.failures.append(error(Code.CASE_MODEL_FAILED, step=result.step, **params) if result.step
                                       else error(Code.CASE_START_FAILED, **params))
                looped = (err.element or "-") if err.looped else None
            except (SpiffWorkflowException, ValueError, KeyError, TypeError) as err:  # the case itself is wrong
                result.failures.append(error(Code.CASE_ERROR, kind=type(err).__name__,
                                             detail=" ".join(str(err).split())[:1000]))
            results.append(result)
    return results


def _run(version: LoadedVersion, case: dict, result: CaseResult) -> None:
    intake = case.get("start", {})
    if version.intake is not None:
        _check_form(version.intake.form, intake, None, result)
    workflow = runtime.start(version, intake, runtime.script_engine())
    for number, step in enumerate(case.get("steps", []), start=1):
        result.step = number
        if "task" in step:
            ready = {t.task_spec.bpmn_id: t for t in runtime.ready_user_tasks(workflow)}
            task = ready.get(step["task"])
            if task is None:
                result.failures.append(error(Code.CASE_TASK_NOT_OPEN, step=number, task=repr(step["task"]),
                                             open=str(sorted(ready)) if ready else "-"))
                return
            data = step.get("data", {})
            if not _check_form(version.task(step["task"]).form, data, step["task"], result):
                return
            runtime.run_user_task(workflow, task, data)
        elif "message" in step:
            if not runtime.send_message(workflow, step["message"], step.get("payload")):
                result.failures.append(error(Code.CASE_NO_MESSAGE_WAITER, step=number,
                                             message=repr(step["message"])))
                return
        elif "wait" in step:
            delta = parse_duration(step["wait"])
            for timer in runtime.waiting_timers(workflow):
                runtime.move_timer(workflow, timer.task_id, -delta)
            runtime.fire_due_timers(workflow)
        else:
            result.failures.append(error(Code.CASE_STEP_UNKNOWN, step=number))
            return
    result.path = _path(workflow)
    _check_expectations(workflow, case.get("expect", {}), result)


def _check_form(form, data, task: str | None, result: CaseResult) -> bool:
    """Check a step's data (`task`: its user task; None: the intake) against its form, as the pages would."""
    _clean, errors = validate(form, data)
    for name, refused in errors.items():
        found = [e.as_dict() for e in refused]
        result.failures.append(error(Code.CASE_STEP_FIELD, step=result.step, task=task, field=name, errors=found)
                               if task else error(Code.CASE_START_FIELD, field=name, errors=found))
    return not errors


def _path(workflow) -> list[str]:
    done = [t for t in workflow.get_tasks(state=TaskState.COMPLETED)
            if t.task_spec.bpmn_id and not t.task_spec.bpmn_id.startswith("_")]
    return [t.task_spec.bpmn_id for t in sorted(done, key=lambda t: t.last_state_change)]


def _check_expectations(workflow, expect: dict, result: CaseResult) -> None:
    if "end" in expect:
        reached = runtime.outcome(workflow)
        if reached != expect["end"]:
            open_tasks = [t.task_spec.bpmn_id for t in runtime.ready_user_tasks(workflow)]
            result.failures.append(error(Code.CASE_END, expected=repr(expect["end"]), reached=repr(reached),
                                         open=str(open_tasks) if open_tasks else "-"))
    if "open" in expect:
        open_tasks = sorted(t.task_spec.bpmn_id for t in runtime.ready_user_tasks(workflow))
        if open_tasks != sorted(expect["open"]):
            result.failures.append(error(Code.CASE_OPEN, expected=str(sorted(expect["open"])),
                                         found=str(open_tasks)))
    variables = runtime.current_data(workflow)
    for name, value in expect.get("variables", {}).items():
        if variables.get(name) != value:
            result.failures.append(error(Code.CASE_VARIABLE, name=name, expected=repr(value),
                                         got=repr(variables.get(name))))
    position = 0
    for element in expect.get("path", []):
        try:
            position = result.path.index(element, position) + 1
        except ValueError:
            result.failures.append(error(Code.CASE_PATH, element=repr(element), path=str(result.path)))
            break
