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
from copy import copy
from uuid import UUID, SafeUUID

import orjson
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnSubWorkflowConverter,
    BpmnWorkflowConverter,
    TaskConverter,
)
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine.workflow.stepping import SteppingSubWorkflow, SteppingWorkflow

_PLAIN = (str, int, float, bool, type(None))


class _TaskId(UUID):
    """A restored task's id, its hash and text computed once. SpiffWorkflow finds a task's relatives through
    `workflow.tasks` at every step (hundreds of lookups a step), and `UUID` computes the hash — and the text
    when a state is saved — in Python each time. Equal to, and hashed like, the plain UUID."""

    __slots__ = ("_hash", "_text")
    _hash: int
    _text: str

    def __init__(self, text: str):
        digits = text.replace("-", "")
        try:  # what `UUID(text)` does with the text it stored, in a fraction of its time
            if len(digits) != 32:
                raise ValueError(text)
            object.__setattr__(self, "int", int(digits, 16))
            object.__setattr__(self, "is_safe", SafeUUID.unknown)
        except ValueError:
            super().__init__(text)  # any other form UUID reads, or its error
        object.__setattr__(self, "_hash", hash(self.int))
        # A text as stored (what `str` gave: lower-case hex digits, hyphens in their places) is kept instead of
        # formatted again; `int` reads other forms too (upper case, underscores, other scripts' digits).
        canonical = len(text) == 36 and text[8] == text[13] == text[18] == text[23] == "-" \
            and digits.isascii() and digits.isalnum() and text == text.lower()
        object.__setattr__(self, "_text", text if canonical else UUID.__str__(self))

    def __hash__(self) -> int:
        return self._hash

    def __str__(self) -> str:
        return self._text

    def __reduce__(self):  # a copy is a plain UUID
        return UUID, (self._text,)


class _TaskConverter(TaskConverter):
    """SpiffWorkflow's task converter, same format, without its generic walk over task data.

    Task data holds plain JSON only — dicts with text keys none of which is `typename`, lists, text, numbers,
    booleans, None: the sandbox refuses anything else from model code (`sandbox.scripts.check_task_data`),
    forms refuse the key (`forms.validate`), and saving (`_dumps`) refuses other types. On such data
    SpiffWorkflow's registry walk changes nothing but costs a function call per value, so it is skipped;
    internal data keeps it unless all its values are plain. Tasks whose data equals their parent's (most
    of them) are compared in one step instead of key by key."""

    def to_dict(self, task):
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            data, own, inherited = {}, task.data, parent.data
            if own == inherited:
                delta = {"updates": {}, "deletions": []}
            elif not own:
                delta = {"updates": {}, "deletions": list(inherited)}
            else:
                delta = {"updates": {k: v for k, v in own.items() if k not in inherited or v != inherited[k]},
                         "deletions": [k for k in inherited if k not in own]}
        internal = task.internal_data
        return {
            "id": str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": dict(internal) if all(type(v) in _PLAIN for v in internal.values())
            else self.registry.convert(internal),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct, workflow, ids: dict[str, UUID] | None = None):
        """Restore a task; `ids` (text -> id) makes every reference to a task the task's own id object."""
        ids = {} if ids is None else ids
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        if task_spec is None:  # SpiffWorkflow's constructor gives it a start task's spec
            task = self.target_class(workflow, task_spec, state=dct["state"], id=_task_id(ids, dct["id"]))
        else:  # what the constructor sets, without its clock reading and parent lookup that are replaced here
            task = self.target_class.__new__(self.target_class)
            task.id = _task_id(ids, dct["id"])
            workflow.tasks[task.id] = task
            task.workflow, task.task_spec, task._state = workflow, task_spec, dct["state"]
            task.thread_id = self.target_class.thread_id_pool
        task._parent = _task_id(ids, dct["parent"]) if dct["parent"] is not None else None
        task._children = [_task_id(ids, child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        internal = dct["internal_data"]
        task.internal_data = internal if all(type(v) in _PLAIN for v in internal.values()) \
            else self.registry.restore(internal)
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = workflow.tasks.get(task._parent)
        if delta and parent is not None:
            task.data = _apply_delta(parent.data, delta)
        else:
            task.data = dct["data"]
        return task


def _task_id(ids: dict[str, UUID], text: str) -> UUID:
    found = ids.get(text)
    if found is None:
        found = ids[text] = _TaskId(text)
    return found


def _apply_delta(inherited: dict, delta: dict) -> dict:
    """The parent's data with the task's changes, as SpiffWorkflow restores it: containers copied one level
    deep, the updates applied, the deleted keys removed."""
    deletions = delta.get("deletions") or []
    if deletions and len(deletions) >= len(inherited) and inherited.keys() <= set(deletions):
        data: dict = {}
    else:
        data = {k: copy(v) if isinstance(v, (dict, list, set)) else v for k, v in inherited.items()}
        for key in deletions:
            data.pop(key, None)
    data.update(delta.get("updates") or {})
    return data


class _StateOnlyWorkflowConverter(BpmnWorkflowConverter):
    """Serializes a workflow without its spec; the spec objects are handed in on restore.

    The top-level workflow's tasks go to and from `_TASKS` directly, with the type name the registry would
    add, instead of through the registry's generic dispatch (half a dozen calls a task, ≈ 3 % of a timer's
    CPU: docs/PERFORMANCE.md, "Timers"); the dictionary is the one SpiffWorkflow's `WorkflowConverter` makes
    (`tests/unit/test_state_store.py`)."""

    def to_dict(self, workflow):
        to_dict, typename = _TASKS.to_dict, self.registry.typenames[Task]
        tasks = {}
        for task_id, task in workflow.tasks.items():
            tasks[str(task_id)] = dct = to_dict(task)
            dct["typename"] = typename
        return {
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": tasks,
            "root": str(workflow.task_tree.id),
            "subprocesses": self.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": self.registry.convert(workflow.bpmn_events),
        }

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        ids: dict[str, UUID] = {}
        from_dict = _TASKS.from_dict
        for task in dct["tasks"].values():  # each task adds itself to workflow.tasks (parents come first)
            from_dict(task, workflow, ids)
        workflow.task_tree = workflow.tasks.get(ids[dct["root"]])
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_spec_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
_state_config = dict(SPIFF_CONFIG)
_state_config[BpmnWorkflow] = _StateOnlyWorkflowConverter
_state_config[Task] = _TaskConverter
_state_serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_state_config))
#: The state's task converter (registered for `Task` again, the same as the one `configure` made).
_TASKS = _TaskConverter(Task, _state_serializer.registry)
_state_serializer.registry.register(_TaskId, lambda v: {"value": str(v)}, lambda v: UUID(v["value"]), "UUID")
# Workflows restore as `SteppingWorkflow` (its cheaper walk, engine.workflow.stepping), stored under SpiffWorkflow's
# type names as before: registered last, these restore the names.
_StateOnlyWorkflowConverter(SteppingWorkflow, _state_serializer.registry, "BpmnWorkflow")
BpmnSubWorkflowConverter(SteppingSubWorkflow, _state_serializer.registry, "BpmnSubWorkflow")
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
    top = _live_top(workflow)
    root = workflow.task_tree
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


def _live_top(workflow: BpmnWorkflow):
    """The deepest common ancestor of every unfinished task (None when none is unfinished).

    Found from the unfinished tasks whose parent is finished (or missing) alone: every other unfinished task
    lies below one of them, so they have the same deepest common ancestor as all of them, and a state holds
    a handful of them against ≈ 25 unfinished tasks (each path from the root a walk up its parents,
    docs/PERFORMANCE.md, "Timers")."""
    tasks = workflow.tasks
    unfinished = TaskState.NOT_FINISHED_MASK
    heads = []
    for task in tasks.values():
        if task._state & unfinished:
            parent = tasks.get(task._parent)
            if parent is None or not parent._state & unfinished:
                heads.append(task)
    if not heads:
        return None
    paths = [_path_from_root(t) for t in heads]
    top = None
    for depth, node in enumerate(paths[0]):
        if all(len(p) > depth and p[depth] is node for p in paths):
            top = node
        else:
            break
    return top


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
    return _dumps(dct)


#: Refused by orjson, as by `json`, instead of written as orjson would (none of them reaches here: the registry
#: converts what is not plain JSON).
_ORJSON = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _dumps(dct: dict) -> str:
    """`json.dumps` in a tenth of its CPU time: orjson writes the same JSON (text unescaped, floats in their
    shortest form). Integers beyond 64 bits, which orjson refuses, are written by `json`. Task data holds no
    NaN (which orjson would write as null): the sandbox and the forms refuse it."""
    try:
        return orjson.dumps(dct, option=_ORJSON).decode()
    except TypeError:
        return json.dumps(dct, separators=(",", ":"))


#: Every ASCII digit to "0", every other byte to "x": a run of 19 zeros marks a number of 19 digits or more.
_DIGIT_RUNS = bytes(48 if 48 <= byte <= 57 else 120 for byte in range(256))
_LONG_NUMBER = b"0" * 19


def _loads(text: str) -> dict:
    """`json.loads` in three quarters of its CPU time: orjson reads the same values from any JSON but two kinds,
    which go to `json` whole: an integer beyond 64 bits, which orjson reads as a float (it has 19 digits or
    more: found by one C-speed pass over the text), and what orjson refuses (NaN, a lone surrogate, a number
    beyond a float's range)."""
    try:
        raw = text.encode()  # refused for a lone surrogate, which `json` reads
        if _LONG_NUMBER not in raw.translate(_DIGIT_RUNS):
            return orjson.loads(raw)
    except (UnicodeEncodeError, orjson.JSONDecodeError):
        pass
    return json.loads(text)


def load_state(state_json: str, spec, subprocess_specs: dict, script_engine) -> BpmnWorkflow:
    """Restore a workflow from `dump_state` output with the given (cached) specs.

    The script engine is not serialized (docs/ARCHITECTURE.md, SpiffWorkflow fact 2): it is set here, every time.
    """
    dct = _loads(state_json)
    fmt = dct.pop("format", None)
    if fmt != STATE_FORMAT:
        raise ValueError(f"unsupported workflow state format {fmt!r}")
    workflow = _state_serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow
