"""Running a workflow in memory: start it, find and run its tasks, read its data and outcome.

The SpiffWorkflow details live here and in `store`; services never touch task trees directly.
"""
from __future__ import annotations

from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState

from engine.sandbox import make_script_engine
from engine.versions import LoadedVersion


def script_engine(service_handler=None):
    """A fresh sandboxed script engine (never SpiffWorkflow's default one: notes, trap 3)."""
    return make_script_engine(service_handler=service_handler)


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
