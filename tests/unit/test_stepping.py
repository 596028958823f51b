"""The engine loop's cheaper walk (engine.workflow.stepping) against SpiffWorkflow's task iterators: the same
tasks in the same order, for every state mask the engine asks for, on states along a complaint's life and on
trees past the iterators' depth limit, with a subprocess whose leaving skews SpiffWorkflow's depth count."""
from __future__ import annotations

import copy
import logging

import pytest
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskIterator, TaskState

from engine.workflow import runtime, stepping, store
from engine.workflow.stepping import MAX_DEPTH, SteppingSubWorkflow, SteppingWorkflow, walk
from tests.unit.test_state_store import _states_along_a_life

MASKS = [TaskState.READY, TaskState.WAITING, TaskState.READY | TaskState.WAITING, TaskState.COMPLETED,
         TaskState.NOT_FINISHED_MASK, TaskState.FINISHED_MASK, TaskState.ANY_MASK, TaskState.LIKELY]


def _same_walks(first: Task) -> None:
    for mask in MASKS:
        for manual in (None, True, False):
            theirs = list(BpmnTaskIterator(first, state=mask, manual=manual))
            assert list(walk(first, mask, manual)) == theirs, (TaskState.get_name(mask), manual)
        assert list(walk(first, mask, subprocesses=False)) == list(TaskIterator(first, state=mask))


def _chain(parent: Task, length: int, state: int = TaskState.FUTURE) -> Task:
    """`length` tasks below `parent`, each the child of the one before; every tenth READY."""
    for i in range(length):
        parent = Task(parent.workflow, parent.task_spec, parent, state=TaskState.READY if i % 10 == 9 else state)
    return parent


def test_the_walk_yields_what_spiffworkflow_yields_along_a_life(system):
    states, version = _states_along_a_life(system)
    for state in states:
        workflow = store.load_state(state, version.spec, version.subprocess_specs, runtime.script_engine())
        assert isinstance(workflow, SteppingWorkflow)
        _same_walks(workflow.task_tree)
        for task in workflow.tasks.values():  # from any task, as `get_tasks(first_task)` starts
            assert list(walk(task, TaskState.ANY_MASK)) == list(BpmnTaskIterator(task))
        assert workflow.get_tasks(state=TaskState.READY) == list(BpmnTaskIterator(workflow.task_tree,
                                                                                   state=TaskState.READY))


@pytest.mark.parametrize("length", [MAX_DEPTH - 5, MAX_DEPTH + 50])
def test_the_depth_limit_is_kept_with_subprocesses_in_the_way(system, length):
    states, version = _states_along_a_life(system)
    workflow = store.load_state(states[1], version.spec, version.subprocess_specs, runtime.script_engine())
    tasks = list(workflow.tasks.values())
    # A subprocess under a task with children and one under a leaf: leaving the second, SpiffWorkflow's
    # depth count ends one too deep, which the walk must reproduce for the limit to bind where it binds.
    with_children = next(t for t in tasks if t._children and t.parent is not None)
    leaf = next(t for t in tasks if not t._children and t.state & TaskState.DEFINITE_MASK)
    for task in (with_children, leaf):
        sub = SteppingSubWorkflow(workflow.spec, parent_task_id=task.id, top_workflow=workflow)
        workflow.subprocesses[task.id] = sub
        _chain(sub.task_tree, 30)
    _chain(leaf.parent, length)
    _chain(with_children, length, TaskState.COMPLETED)
    _same_walks(workflow.task_tree)
    _same_walks(with_children)


def test_state_changes_are_logged_as_spiffworkflow_logs_them_when_asked(system, caplog):
    states, version = _states_along_a_life(system)
    workflow = store.load_state(states[0], version.spec, version.subprocess_specs, runtime.script_engine())
    task = runtime.ready_user_tasks(workflow)[0]
    with caplog.at_level(logging.DEBUG, logger="spiff.task"):
        task._set_state(TaskState.READY)
        task._set_state(TaskState.STARTED)
    unchanged, changed = caplog.records
    assert (unchanged.levelno, unchanged.getMessage()) == (logging.DEBUG, "State set to READY")
    assert (changed.levelno, changed.getMessage()) == (logging.INFO, "State changed to STARTED")
    assert changed.task_id == task.id and changed.state == "STARTED" and changed.elapsed >= 0
    assert changed.parent == task.parent.id and changed.data == task.data
    caplog.clear()
    task._set_state(TaskState.COMPLETED)  # logging at its default level: nothing built, the state set
    assert not caplog.records and task.state == TaskState.COMPLETED


@pytest.mark.parametrize("a, b", [
    ({"x": 1, "own": [1]}, {"x": 1}),  # every item of the parent's there: nothing changes
    ({"x": 1}, {"x": 2, "y": {"z": [1, 2]}}),
    ({"x": {"y": 1, "k": [1]}}, {"x": {"y": 2, "k": [1, 3]}}),
    ({"x": [{"a": 1}, 2]}, {"x": [{"a": 2, "b": 3}, 2, 7]}),
    ({}, {}),
])
def test_task_data_merges_as_spiffworkflow_merges_it(a, b):
    ours, theirs = copy.deepcopy(a), copy.deepcopy(a)
    assert stepping._merge_data(ours, copy.deepcopy(b)) is ours
    assert ours == stepping._merge(theirs, copy.deepcopy(b))
