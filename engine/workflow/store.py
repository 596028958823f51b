"""Loading and saving workflow state.

Two measures keep the cost of one request flat however long a complaint's history grows
(SpiffWorkflow's own serialization grows with every task ever run):

* the process spec is serialized once per deployed version and cached deserialized in memory, so a
  complaint's state holds only its tasks and data;
* before saving, finished history above the live part of the task tree is pruned ("compaction").
  The history is not lost: every step is in the audit table, which is the record people read.
"""
from __future__ import annotations

import json
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its spec; the spec objects are handed in on restore."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = _share_ids(self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow))
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _share_ids(tasks: dict) -> dict:
    """`tasks` keyed by each task's own id object, with every parent and child reference that same object.
    SpiffWorkflow finds a task's relatives through this dictionary at every step; with equal but distinct UUID
    objects each lookup also calls `UUID.__eq__` (Python code), with the same object the identity check answers
    (measured: firing a complaint's timers takes a third less time)."""
    shared = {task.id: task for task in tasks.values()}
    for task in shared.values():
        if task._parent is not None:
            task._parent = shared[task._parent].id
        task._children = [shared[child].id for child in task._children]
    return shared


_spec_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
_state_config = dict(SPIFF_CONFIG)
_state_config[BpmnWorkflow] = _StateOnlyWorkflowConverter
_state_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_state_config))
STATE_FORMAT = f"spiff-{_state_serializer.VERSION}/compact-1"


def dump_spec(spec, subprocess_specs: dict) -> str:
    """Serialize a parsed process spec (stored once per deployed version)."""
    registry = _spec_serializer.registry
    return json.dumps(
        {
            "spec": registry.convert(spec),
            "subprocess_specs": {name: registry.convert(sub) for name, sub in subprocess_specs.items()},
        }
    )


def load_spec(spec_json: str):
    """Restore `(spec, subprocess_specs)` from `dump_spec` output."""
    registry = _spec_serializer.registry
    dct = json.loads(spec_json)
    return (
        registry.restore(dct["spec"]),
        {name: registry.restore(sub) for name, sub in dct["subprocess_specs"].items()},
    )


def compact(workflow: BpmnWorkflow) -> int:
    """Prune finished tasks above the live part of the top-level task tree; return how many.

    The live part is the subtree under the deepest common ancestor of every unfinished task. Its
    tasks keep their full data in memory, so the serializer stores the new top's data whole.
    """
    unfinished = [t for t in workflow.tasks.values() if t.state & TaskState.NOT_FINISHED_MASK]
    if not unfinished:
        return 0
    root = workflow.task_tree
    paths = [_path_from_root(t) for t in unfinished]
    top = None
    for depth, node in enumerate(paths[0]):
        if all(len(p) > depth and p[depth] is node for p in paths):
            top = node
        else:
            break
    if top is None or top is root or top.parent is root:
        return 0
    keep = {t.id for t in top} | {root.id}
    dropped = [tid for tid in workflow.tasks if tid not in keep]
    for tid in dropped:
        if tid in workflow.subprocesses:
            workflow.delete_subprocess(workflow.tasks[tid])
        del workflow.tasks[tid]
    root._children = [top.id]
    top._parent = root.id
    if workflow.last_task is not None and workflow.last_task.id not in keep:
        workflow.last_task = top
    return len(dropped)


def _path_from_root(task) -> list:
    path = []
    while task is not None:
        path.append(task)
        task = task.parent
    path.reverse()
    return path


def dump_state(workflow: BpmnWorkflow) -> str:
    """Compact and serialize a workflow's state (no spec) to JSON."""
    compact(workflow)
    dct = _state_serializer.to_dict(workflow)
    dct["format"] = STATE_FORMAT
    return json.dumps(dct, separators=(",", ":"))


def load_state(state_json: str, spec, subprocess_specs: dict, script_engine) -> BpmnWorkflow:
    """Restore a workflow from `dump_state` output with the given (cached) specs.

    The script engine is not serialized (SPIFFWORKFLOW-NOTES trap 3): it is set here, every time.
    """
    dct = json.loads(state_json)
    fmt = dct.pop("format", None)
    if fmt != STATE_FORMAT:
        raise ValueError(f"unsupported workflow state format {fmt!r}")
    workflow = _state_serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
