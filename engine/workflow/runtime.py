"""Running a workflow in memory: start it, find and run its tasks, read its data and outcome.

The SpiffWorkflow details live here and in `store`; services never touch task trees directly.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from contextlib import contextmanager
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
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException, WorkflowException
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.workflow.failures import StepFailed, looped, untyped_task
from engine.workflow.failures import explain as _explain
from engine.workflow.failures import failed_element as _failed_element
from engine.workflow.functions import MODEL_FUNCTIONS
from engine.workflow.sandbox import make_script_engine
from engine.workflow.stepping import SteppingWorkflow
from engine.workflow.versions import LoadedVersion

#: Far enough to hold a timer back while its deferral request waits for a decision.
_HELD = "9999-01-01T00:00:00+00:00"

#: The engine work one request may do (docs/MODELLING.md, "When a model fails while it runs"). The
#: shipped lifecycle needs at most 7 engine steps between two waits (over its test cases); a model that loops through
#: gateways, scripts or call activities without waiting is stopped here instead of holding the complaint's
#: lock (and, on SQLite, the whole database) for ever.
MAX_ENGINE_STEPS = 1000
#: CPU seconds of the request's own thread: a loop in the engine spends them whatever else the machine is
#: doing, while a normal step (≈ 10 ms of CPU) never comes near, however loaded the machine is.
MAX_ENGINE_CPU_SECONDS = 2.0
#: Wall-clock seconds: catches a loop whose steps wait on slow model code in the sandbox's worker
#: processes (their time is not this thread's CPU); generous, so that a loaded machine never reaches it.
MAX_ENGINE_SECONDS = 20.0


class _Budget:
    """Counts the engine steps of one request (SpiffWorkflow's `will_complete_task` hook) and remembers
    which element runs, so that a failure can name it."""

    def __init__(self) -> None:
        self.steps = 0
        self.started = time.monotonic()
        self.cpu_started = time.thread_time()
        self.element: str | None = None
        self.runs: Counter[str] = Counter()
        self.last: Task | None = None

    def __call__(self, task) -> None:
        self.last = task
        self.element = task.task_spec.bpmn_id or task.task_spec.name
        self.runs[self.element] += 1
        self.steps += 1
        if (self.steps > MAX_ENGINE_STEPS or time.thread_time() - self.cpu_started > MAX_ENGINE_CPU_SECONDS
                or time.monotonic() - self.started > MAX_ENGINE_SECONDS):
            raise _BudgetExceeded(self.steps)

    def looping_element(self) -> str | None:
        """The element the loop went through most often. When that is the start event of a called
        process, the loop is the call activity that keeps starting it (a process calling itself)."""
        if not self.runs:
            return self.element
        most = self.runs.most_common(1)[0][0]
        last = self.last
        if last is None:
            return most
        parent_id = getattr(last.workflow, "parent_task_id", None)
        if isinstance(last.task_spec, StartEvent) and last.task_spec.bpmn_id == most and parent_id:
            caller = last.workflow.top_workflow.get_task_from_id(parent_id)
            return caller.task_spec.bpmn_id
        return most


class _BudgetExceeded(Exception):
    """Raised inside SpiffWorkflow's step callback to stop a request past its step budget."""


def _advance(workflow: BpmnWorkflow, element: str | None = None) -> OpenTasks:
    """`workflow.do_engine_steps()` within the step budget; every failure becomes StepFailed. Returns the
    open tasks it stopped at (found anyway, to refuse a task without a type)."""
    budget = _Budget()
    budget.element = element
    try:
        with _holding(workflow):
            workflow.do_engine_steps(will_complete_task=budget)
    except _BudgetExceeded as stop:
        raise looped(budget.looping_element(), stop.args[0], time.monotonic() - budget.started, MAX_ENGINE_STEPS,
                     MAX_ENGINE_CPU_SECONDS, MAX_ENGINE_SECONDS) from None
    except StepFailed:
        raise
    except Exception as err:  # noqa: BLE001 - any engine failure is the model's: reported, never a 500
        raise StepFailed(_failed_element(err, budget.element), _explain(err)) from err
    found = open_tasks(workflow)
    stuck = next((t for t in found.ready if isinstance(t.task_spec, NoneTask)), None)
    if stuck is not None:
        raise untyped_task(stuck.task_spec.bpmn_id)
    return found


def script_engine() -> PythonScriptEngine:
    """A fresh sandboxed script engine (never SpiffWorkflow's default one: docs/ARCHITECTURE.md, SpiffWorkflow
    fact 2); model code runs in this process's isolated workers (`engine.workflow.sandbox.isolation`)."""
    return make_script_engine(MODEL_FUNCTIONS, isolated=True)


def start(version: LoadedVersion, data: dict, engine) -> BpmnWorkflow:
    """Create a workflow of `version`, seed the start event with `data` and run to the first wait."""
    workflow = SteppingWorkflow(version.spec, version.subprocess_specs, script_engine=engine)
    for task in workflow.get_tasks(state=TaskState.READY):
        task.set_data(**data)
    _advance(workflow)
    return workflow


def advance(workflow: BpmnWorkflow) -> None:
    """Run the engine to the next wait within the step budget (StepFailed on any failure), for callers that
    change a workflow's state themselves, such as a migration to another version."""
    _advance(workflow)


def ready_user_tasks(workflow: BpmnWorkflow) -> list:
    """The user tasks people can work on now."""
    return workflow.get_tasks(state=TaskState.READY, manual=True)


@dataclass(frozen=True)
class OpenTasks:
    """The workflow's READY user tasks and its WAITING tasks, in the order `get_tasks` gives them, found in
    one walk over the task tree: recording a step reads both several times (each a walk of its own)."""

    ready: list
    waiting: list


def open_tasks(workflow: BpmnWorkflow) -> OpenTasks:
    """READY user tasks and WAITING tasks, one walk (both states make `get_tasks` walk the same tasks)."""
    found = workflow.get_tasks(state=TaskState.READY | TaskState.WAITING)
    return OpenTasks(ready=[t for t in found if t.state == TaskState.READY and t.task_spec.manual],
                     waiting=[t for t in found if t.state == TaskState.WAITING])


def find_task(workflow: BpmnWorkflow, task_id: str):
    """The task with this id, or None."""
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except (TaskNotFoundException, ValueError):
        return None


def is_ready(task) -> bool:
    """Only READY tasks may run: `task.run()` itself does not check (docs/ARCHITECTURE.md, SpiffWorkflow fact 1)."""
    return task.state == TaskState.READY


def run_user_task(workflow: BpmnWorkflow, task, data: dict) -> None:
    """Complete a READY user task with `data` and run the engine to the next wait."""
    if not is_ready(task):
        raise ValueError(f"task {task.task_spec.bpmn_id} is not ready")
    task.set_data(**data)
    element = task.task_spec.bpmn_id
    try:
        task.run()
    except Exception as err:  # noqa: BLE001 - a failing post-script or task is the model's error
        raise StepFailed(_failed_element(err, element), _explain(err)) from err
    _advance(workflow, element)


def current_data(workflow: BpmnWorkflow, found: OpenTasks | None = None) -> dict:
    """The complaint's variables now: the data of the open tasks, or of the last finished one. `found`: the
    workflow's `open_tasks`, when the caller has them."""
    found = found or open_tasks(workflow)
    tasks = found.ready or found.waiting
    if tasks:
        merged: dict = {}
        for task in tasks:
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


def waiting_timers(workflow: BpmnWorkflow, tasks: OpenTasks | None = None) -> list[WaitingTimer]:
    """Every WAITING date or duration timer, with the user task a boundary timer is attached to. `tasks`: the
    workflow's `open_tasks`, when the caller has them."""
    found = []
    for task in (tasks.waiting if tasks else workflow.get_tasks(state=TaskState.WAITING)):
        definition = getattr(task.task_spec, "event_definition", None)
        if not isinstance(definition, (DurationTimerEventDefinition, TimeDateEventDefinition)):
            continue
        value = task._get_internal_data("event_value")
        if value is None:  # not evaluated yet: SpiffWorkflow fixes it when the timer is first checked
            definition.has_fired(task)
            value = task._get_internal_data("event_value")
        found.append(_timer_of(task, value))
    return found


def _timer_of(task, value: str) -> WaitingTimer:
    attached = None
    if isinstance(task.task_spec, BoundaryEvent) and task.parent is not None:
        attached = next((c for c in task.parent.children if not isinstance(c.task_spec, BoundaryEvent)), None)
    props = (task.task_spec.extensions or {}).get("properties", {})
    return WaitingTimer(
        task_id=str(task.id), name=task.task_spec.bpmn_id, kind=props.get("sla", "timer"),
        due_at=TimerEventDefinition.get_datetime(value),
        attached_task_id=str(attached.id) if attached else None,
        attached_task_name=attached.task_spec.bpmn_id if attached else None,
    )


def fired_sla_timers(workflow: BpmnWorkflow, tasks: OpenTasks | None = None) -> list[WaitingTimer]:
    """Warning and deadline timers of the open user tasks that have fired (COMPLETED), with their deadline.
    A timer whose date had passed when its task opened fires in the same step, without ever waiting: the
    caller finds it here. Only the open tasks' boundary events are looked at, so the cost does not grow with
    the complaint's history. `tasks`: the workflow's `open_tasks`, when the caller has them."""
    found = []
    for ready in (tasks.ready if tasks else ready_user_tasks(workflow)):
        for task in (ready.parent.children if ready.parent is not None else []):
            definition = getattr(task.task_spec, "event_definition", None)
            if task.state != TaskState.COMPLETED or \
                    not isinstance(definition, (DurationTimerEventDefinition, TimeDateEventDefinition)):
                continue
            props = (task.task_spec.extensions or {}).get("properties", {})
            value = task._get_internal_data("event_value")
            if props.get("sla") in ("warning", "deadline") and value is not None:
                found.append(_timer_of(task, value))
    return found


def task_state(workflow: BpmnWorkflow, task_id: str) -> str | None:
    """The state name of a task (COMPLETED, CANCELLED, …), or None when it is not in the workflow."""
    task = find_task(workflow, task_id)
    return TaskState.get_name(task.state) if task is not None else None


def hold_timers(workflow: BpmnWorkflow, task_ids: AbstractSet[str]) -> None:
    """Keep the timers `task_ids` from firing in every step this workflow object takes: their task's
    deferral request waits for a decision, or they became incidents. SpiffWorkflow re-checks every waiting
    timer whenever the engine moves, so without this a held deadline would fire as soon as anything else
    happened in the complaint (another timer, a message, a task)."""
    workflow.held_timers = frozenset(task_ids)


@contextmanager
def _holding(workflow: BpmnWorkflow) -> Iterator[None]:
    """While the block runs, the held timers' deadlines read as far in the future; then they are put back,
    so the stored state keeps their real due times."""
    held = {}
    for task_id in getattr(workflow, "held_timers", frozenset()):
        task = find_task(workflow, task_id)
        if task is not None and task.state == TaskState.WAITING:
            held[task] = task._get_internal_data("event_value")
            task._set_internal_data(event_value=_HELD)
    try:
        yield
    finally:
        for task, value in held.items():
            task._set_internal_data(event_value=value)


def fire_due_timers(workflow: BpmnWorkflow, hold: AbstractSet[str] = frozenset()) -> OpenTasks:
    """Fire every timer that is due now (by the program's clock), except the task ids in `hold` and those
    held by `hold_timers`; return the open tasks the workflow then waits at (for recording the step
    without finding them again)."""
    hold_timers(workflow, getattr(workflow, "held_timers", frozenset()) | hold)
    try:
        with _holding(workflow):
            workflow.refresh_timers()
    except Exception as err:  # noqa: BLE001 - a timer expression that fails is the model's error
        raise StepFailed(_failed_element(err, None), _explain(err)) from err
    return _advance(workflow)


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
        with _holding(workflow):
            workflow.send_event(BpmnEvent(MessageEventDefinition(name), payload=payload))
    except WorkflowException:
        return False
    _advance(workflow)
    return True
