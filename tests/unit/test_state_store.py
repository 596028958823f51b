"""The workflow state store's own task converter (engine.workflow.store) against SpiffWorkflow's: the same
stored format both ways, on states taken along a complaint's life and on task data with nested containers."""
from __future__ import annotations

import copy
import json
import math
import random
import re
import struct
from datetime import timedelta
from uuid import UUID

import pytest
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from engine import clock
from engine.complaints import timers
from engine.db import UnitOfWork
from engine.models import Complaint
from engine.workflow import runtime, store
from engine.workflow.stepping import SteppingSubWorkflow, SteppingWorkflow
from engine.workflow.versions import load_version
from tests.lifecycle import start, step


class _LibraryWorkflowConverter(store._StateOnlyWorkflowConverter):
    """The state format read and written as SpiffWorkflow reads and writes it (its own workflow and task
    converters, through its registry; fresh UUIDs everywhere)."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


_library_config = dict(store._state_config)
_library_config[Task] = TaskConverter
_library_config[store.BpmnWorkflow] = _LibraryWorkflowConverter
LIBRARY = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(_library_config))
# Our workflows (engine.workflow.stepping) are SpiffWorkflow's under their names: saved by its converters too.
LIBRARY.registry.typenames[SteppingWorkflow] = "BpmnWorkflow"
LIBRARY.registry.typenames[SteppingSubWorkflow] = "BpmnSubWorkflow"


def _states_along_a_life(system) -> tuple[list[str], object]:
    """Stored states after each step of a complaint, timers fired on the way (warnings, a breach)."""
    states = []

    def keep(cid):
        with UnitOfWork(system.db, write=False) as uow:
            complaint = uow.session.get_one(Complaint, cid)
            states.append(complaint.state)
            return load_version(uow.session, complaint.version_id)

    cid = start(system).complaint_id
    version = keep(cid)
    clock.advance(timedelta(minutes=31))
    timers.run_due(system.db)
    keep(cid)
    for name in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution"):
        step(system, cid, name)
        keep(cid)
    return states, version


def _load(serializer, state: str, version):
    dct = json.loads(state)
    dct.pop("format")
    workflow = serializer.from_dict(dct, spec=version.spec, subprocess_specs=version.subprocess_specs)
    workflow.script_engine = runtime.script_engine()
    return workflow


def _tasks(workflow) -> list[tuple]:
    return [(str(t.id), str(t._parent), [str(c) for c in t._children], t.state, t.task_spec.name, t.triggered,
             t.last_state_change, t.data, t.internal_data) for t in workflow.tasks.values()]


def test_states_load_and_save_as_spiffworkflow_would(system):
    states, version = _states_along_a_life(system)
    assert len(states) == 6
    for state in states:
        ours, theirs = _load(store._state_serializer, state, version), _load(LIBRARY, state, version)
        assert _tasks(ours) == _tasks(theirs)
        assert ours.last_task.id == theirs.last_task.id and ours.task_tree.id == theirs.task_tree.id
        assert sorted(map(str, ours.event_manager.tasks)) == sorted(map(str, theirs.event_manager.tasks))
        assert store._state_serializer.to_dict(ours) == LIBRARY.to_dict(theirs)
        # and it runs on: the same open tasks and variables after loading either way
        assert [str(t.id) for t in runtime.ready_user_tasks(ours)] == \
            [str(t.id) for t in runtime.ready_user_tasks(theirs)]
        assert runtime.current_data(ours) == runtime.current_data(theirs)


def test_nested_task_data_round_trips_and_children_get_their_own_containers(system):
    states, version = _states_along_a_life(system)
    workflow = _load(store._state_serializer, states[-1], version)
    ready = runtime.ready_user_tasks(workflow)[0]
    nested = {"items": [{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 1}], "address": {"city": "杭州"},
              "tags": ["加急", "复查"], "empty": {}, "none": None, "ratio": 0.25, "flag": False}
    ready.set_data(**nested)
    child = ready.children[0]
    child.data = dict(ready.data, extra=[1, 2, 3])  # a child with data of its own beside the inherited
    saved = store.dump_state(workflow)
    for serializer in (store._state_serializer, LIBRARY):
        again = _load(serializer, saved, version)
        parent, kid = again.get_task_from_id(ready.id), again.get_task_from_id(child.id)
        assert {k: parent.data[k] for k in nested} == nested
        assert kid.data["extra"] == [1, 2, 3] and kid.data["items"] == nested["items"]
        kid.data["tags"].append("changed")  # one level deep, as SpiffWorkflow copies
        kid.data["address"]["city"] = "宁波"
        assert parent.data["tags"] == ["加急", "复查"] and parent.data["address"] == {"city": "杭州"}
    assert _tasks(_load(store._state_serializer, saved, version)) == _tasks(_load(LIBRARY, saved, version))


def test_restored_task_ids_behave_as_uuids(system):
    states, version = _states_along_a_life(system)
    workflow = store.load_state(states[0], version.spec, version.subprocess_specs, runtime.script_engine())
    task = next(iter(workflow.tasks.values()))
    plain = UUID(str(task.id))
    assert task.id == plain and hash(task.id) == hash(plain) and str(task.id) == str(plain)
    assert workflow.tasks[plain] is task and runtime.find_task(workflow, str(plain)) is task
    assert copy.deepcopy(task.id) == plain and type(copy.deepcopy(task.id)) is UUID
    assert task.parent is None and all(child.parent is task for child in task.children)


@pytest.mark.parametrize("data", [{}, {"a": 1}])
def test_a_task_whose_data_was_emptied_saves_its_deletions(system, data):
    states, version = _states_along_a_life(system)
    workflow = _load(store._state_serializer, states[0], version)
    task = next(t for t in workflow.tasks.values() if t.parent is not None and t.parent.data)
    task.data = dict(data)
    ours = store._state_serializer.to_dict(workflow)["tasks"][str(task.id)]["delta"]
    theirs = LIBRARY.to_dict(workflow)["tasks"][str(task.id)]["delta"]
    assert ours == theirs and ours["deletions"]


def test_a_state_is_written_as_json_writes_it(system):
    """orjson writes the state (engine.workflow.store._dumps); `json` reads back what `json` would have written,
    an integer beyond 64 bits (which orjson refuses) included."""
    states, version = _states_along_a_life(system)
    workflow = _load(store._state_serializer, states[-1], version)
    ready = runtime.ready_user_tasks(workflow)[0]
    for data in ({"note": "顾客来电 \"加急\"\n", "ratio": 0.1, "big": 2**63 - 1, "tiny": 1e-300}, {"huge": 10**30}):
        ready.set_data(**data)
        saved = store.dump_state(workflow)
        assert json.loads(saved) == json.loads(json.dumps({**store._state_serializer.to_dict(workflow),
                                                           "format": store.STATE_FORMAT}))
        again = _load(store._state_serializer, saved, version)
        assert {k: again.get_task_from_id(ready.id).data[k] for k in data} == data


def _top_of_every_unfinished_task(workflow):
    """The deepest common ancestor of every unfinished task, from each one's path from the root (as compaction
    found it before `store._live_top`)."""
    paths = [store._path_from_root(t) for t in workflow.tasks.values() if t.state & TaskState.NOT_FINISHED_MASK]
    top = None
    for depth, node in enumerate(paths[0] if paths else []):
        if all(len(p) > depth and p[depth] is node for p in paths):
            top = node
        else:
            break
    return top


def test_compaction_keeps_the_subtree_every_unfinished_task_shares(system):
    states, version = _states_along_a_life(system)
    clock.advance(timedelta(days=60))  # every timer due: the trees move on (warnings, breaches) before saving
    tops = []
    for state in states:
        workflow = _load(store._state_serializer, state, version)
        for _ in range(2):
            top = store._live_top(workflow)
            assert top is not None and top is _top_of_every_unfinished_task(workflow)
            tops.append(top.task_spec.name)
            runtime.fire_due_timers(workflow)
    assert len(set(tops)) > 3  # tops at many places along the life
    finished = _load(store._state_serializer, states[0], version)
    for task in finished.tasks.values():
        task._state = TaskState.COMPLETED
    assert store._live_top(finished) is None and _top_of_every_unfinished_task(finished) is None


def _floats(count: int) -> list[float]:
    """Doubles of every magnitude (random bits) that orjson reads (`repr` writes a few with 19 digits in a row,
    such as 0.00042945406958518565: those go to `json`)."""
    rng = random.Random(16)
    found = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(count)]
    return [f for f in found if math.isfinite(f) and not re.search("[0-9]{19}", repr(f))]


@pytest.mark.parametrize("text", [
    json.dumps(_floats(20_000) + [0.1, -0.0, 1e-300, 2**53 + 1, -(2**63), 2**64 - 1, 10**17]),  # orjson reads these
    '{"big": 18446744073709551616, "small": -9223372036854775809, "huge": 123456789012345678901234567890}',
    '{"nan": NaN, "inf": 1e400, "lone": "\\ud800", "pair": "\\ud83d\\ude00", "text": "顾客 \\"加急\\"\\n"}',
    '["\ud800"]',  # a lone surrogate in the text itself: no UTF-8 form
])
def test_a_state_is_read_as_json_reads_it(text):
    """orjson reads states where it reads what `json` reads (engine.workflow.store._loads); the rest goes to
    `json`."""
    ours, theirs = store._loads(text), json.loads(text)
    assert repr(ours) == repr(theirs)
    assert [type(v) for v in (ours.values() if isinstance(ours, dict) else ours)] == \
        [type(v) for v in (theirs.values() if isinstance(theirs, dict) else theirs)]


def test_recorded_states_are_read_as_json_reads_them(system):
    states, _version = _states_along_a_life(system)
    for state in states:
        assert store._LONG_NUMBER not in state.encode().translate(store._DIGIT_RUNS)  # orjson reads them
        assert repr(store._loads(state)) == repr(json.loads(state))


@pytest.mark.parametrize("text", ["12345678-9abc-def0-1234-56789abcdef0", "12345678-9ABC-DEF0-1234-56789ABCDEF0",
                                  "1234_678-9abc-def0-1234-56789abcdef0", "{12345678-9abc-def0-1234-56789abcdef0}",
                                  "urn:uuid:12345678-9abc-def0-1234-56789abcdef0", "123456789abcdef0123456789abcdef0"])
def test_a_task_id_reads_and_writes_a_text_as_uuid_does(text):
    ours, theirs = store._TaskId(text), UUID(text)
    assert ours == theirs and hash(ours) == hash(theirs) and str(ours) == str(theirs)
