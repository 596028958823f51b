"""Running a workflow in memory: start it, find and run its tasks, read its data and outcome.

The SpiffWorkflow details live here and in `store`; services never touch task trees directly.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.util.task import TaskState

from engine.workflow.functions import MODEL_FUNCTIONS
from engine.workflow.sandbox import make_script_engine
from engine.workflow.versions import LoadedVersion

#: Far enough to hold a timer back while its deferral request waits for a decision.
_HELD = "9999-01-01T00:00:00+00:00"


def script_engine() -> PythonScriptEngine:
    """A fresh sandboxed script engine (never SpiffWorkflow's default one: notes, trap 3); model code runs in
    this process's isolated workers (`engine.workflow.sandbox.isolation`)."""
    return make_script_engine(MODEL_FUNCTIONS, isolated=True)


def start(version: LoadedVersion, data: dict, engine) -> BpmnWorkflow:
    """Create a workflow of `version`, seed the start event with `data` and run to the first wait."""
    workflow = BpmnWorkflow(version.spec, version.subprocess_specs, script_engine=engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**data)
    workflow.do_engine_steps()
    return workflow


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    """The user tasks people can work on now."""
    return workflow.get_tasks(state=TaskState.READY, manual=True)


def find_task(workflow: BpmnWorkflow, task_id: str):
    """The task with this id, or None."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (TaskNotFoundException, ValueError):
        return None


def is_ready(task) -> bool:
    """Only READY tasks may run: `task.run()` itself does not check (notes, trap 1)."""
    return task.state == TaskState.READY


def run_user_task(workflow: BpmnWorkflow, task, data: dict) -> None:
    """Complete a READY user task with `data` and run the engine to the next wait."""
    if not is_ready(task):
        raise ValueError(f"task {task.task_spec.bpmn_id} is not ready")
    task.set_data(**data)
    task.run()
    workflow.do_engine_steps()


def current_data(workflow: BpmnWorkflow) -> dict:
    """The complaint's variables now: the data of the open tasks, or of the last finished one."""
    open_tasks = ready_user_tasks(workflow) or workflow.get_tasks(state=TaskState.WAITING)
    if open_tasks:
        merged: dict = {}
        for task in open_tasks:
            merged.update(task.data)
        return merged
    finished = workflow.get_tasks(state=TaskState.COMPLETED)
    return dict(max(finished, key=lambda t: t.last_state_change).data) if finished else {}


def outcome(workflow: BpmnWorkflow) -> str | None:
    """The id of the end event that closed the workflow, or None while it runs."""
    if not workflow.is_completed():
        return None
    ends = [t for t in workflow.get_tasks(state=TaskState.COMPLETED) if isinstance(t.task_spec, EndEvent)
            and t.workflow is workflow]
    return max(ends, key=lambda t: t.last_state_change).task_spec.bpmn_id if ends else None


@dataclass(frozen=True)
class WaitingTimer:
    """A timer event waiting in the workflow, with its absolute deadline."""

    task_id: str
    name: str
    kind: str  # the boundary event's `sla` property: warning, deadline; "timer" otherwise
    due_at: datetime
    attached_task_id: str | None
    attached_task_name: str | None


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    """Every WAITING date or duration timer, with the user task a boundary timer is attached to."""
    found = []
    for task in workflow.get_tasks(state=TaskState.WAITING):
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, (DurationTimerEventDefinition, TimeDateEventDefinition)):
            continue
        value = task._get_internal_data("event_value")
        if value is None:  # not evaluated yet: SpiffWorkflow fixes it when the timer is first checked
            definition.has_fired(task)
            value = task._get_internal_data("event_value")
        attached = None
        if isinstance(task.task_spec, BoundaryEvent) and task.parent is not None:
            attached = next((c for c in task.parent.children if not isinstance(c.task_spec, BoundaryEvent)), None)
        props = (task.task_spec.extensions or {}).get("properties", {})
        found.append(WaitingTimer(
            task_id=str(task.id), name=task.task_spec.bpmn_id, kind=props.get("sla", "timer"),
            due_at=TimerEventDefinition.get_datetime(value),
            attached_task_id=str(attached.id) if attached else None,
            attached_task_name=attached.task_spec.bpmn_id if attached else None,
        ))
    return found


def task_state(workflow: BpmnWorkflow, task_id: str) -> str | None:
    """The state name of a task (COMPLETED, CANCELLED, …), or None when it is not in the workflow."""
    task = find_task(workflow, task_id)
    return TaskState.get_name(task.state) if task is not None else None


def fire_due_timers(workflow: BpmnWorkflow, hold: set[str] = frozenset()) -> None:
    """Fire every timer that is due now (by the program's clock), except the task ids in `hold`."""
    held = {}
    for task_id in hold:
        task = find_task(workflow, task_id)
        if task is not None:
            held[task_id] = task._get_internal_data("event_value")
            task._set_internal_data(event_value=_HELD)
    workflow.refresh_timers()
    for task_id, value in held.items():
        find_task(workflow, task_id)._set_internal_data(event_value=value)
    workflow.do_engine_steps()


def move_timer(workflow: BpmnWorkflow, task_id: str, delta: timedelta) -> datetime:
    """Move a waiting timer's deadline by `delta`; return the new deadline."""
    task = find_task(workflow, task_id)
    if task is None or task.state != TaskState.WAITING:
        raise ValueError(f"timer {task_id} is not waiting")
    due = TimerEventDefinition.get_datetime(task._get_internal_data("event_value")) + delta
    task._set_internal_data(event_value=due.isoformat())
    return due


def waits_for_message(workflow: BpmnWorkflow, name: str) -> bool:
    """Is a catch event of the workflow waiting for the message `name` now?"""
    return any(e.name == name and e.event_type == "MessageEventDefinition" for e in workflow.waiting_events())


def send_message(workflow: BpmnWorkflow, name: str, payload) -> bool:
    """Deliver a BPMN message and run to the next wait; False if nothing was waiting for it."""
    try:
        workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    except WorkflowException:
        return False
    workflow.do_engine_steps()
    return True
