"""SpiffWorkflow's engine loop with a cheaper walk over the task tree (docs/PERFORMANCE.md, "Timers").

SpiffWorkflow finds the tasks to run, and the WAITING tasks it re-checks after every task that completes,
with `TaskIterator`, which keeps a depth count for its `max_depth` limit by walking each leaf's chain of
parents (`Task.parent`: a dict lookup behind a property, hundreds per engine step). `SteppingWorkflow` walks
the same tasks in the same order, lazily as SpiffWorkflow does (a task's children are read when it is
visited, so what running an earlier task changed is seen), with the same filter, and keeps the same depth
count without walking parents: each task visited carries its depth inside its own workflow, and the count
SpiffWorkflow would reach after a leaf is computed from it. Only the plain queries the engine loop and this
project make (a state mask, `manual`) take this walk; any other query goes to SpiffWorkflow's iterator.

Workflows of this class are stored under SpiffWorkflow's own type names (`engine.workflow.store`), so the
stored format does not change.

Two of SpiffWorkflow's helpers are replaced for every workflow, with the same effect: a task's state change
builds its log record only when the record is logged (`_set_state`), and a task taking its parent's data
returns at once when it holds all of it already (`_merge_data`). `tests/unit/test_stepping.py` compares all
of this with SpiffWorkflow's own code.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from SpiffWorkflow.bpmn.util.subworkflow import BpmnSubWorkflow
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

#: `TaskIterator`'s default depth limit: the children of a task this deep are not visited.
MAX_DEPTH = 1000
_PLAIN_QUERY = frozenset({"state", "manual"})


def walk(first: Task, state: int = TaskState.ANY_MASK, manual: bool | None = None,
         subprocesses: bool = True) -> Iterator[Task]:
    """The tasks `TaskIterator` (`subprocesses=False`) or `BpmnTaskIterator` (`subprocesses=True`) yields
    from `first` with `state=state, manual=manual` and the default depth-first order and depth limit."""
    if state & TaskState.PREDICTED_MASK:
        min_state = TaskState.MAYBE
    elif state & TaskState.DEFINITE_MASK:
        min_state = TaskState.FUTURE
    else:
        min_state = TaskState.COMPLETED
    # A completed subprocess is not entered when only finished tasks are asked for; `>=` on the mask as
    # SpiffWorkflow compares it.
    finished_only = state <= TaskState.FINISHED_MASK
    called = first.workflow.top_workflow.subprocesses if subprocesses else {}
    # Entries (task, its depth inside its own workflow), the next one last. SpiffWorkflow's single count
    # `depth` goes up by one when it enters a task's children, and after a leaf drops by the number of the
    # leaf's ancestors below the next task's parent — all of them when that parent is not among them (the
    # next task is in another workflow).
    stack = [(first, first.depth)]
    depth = 0
    while stack:
        task, local = stack.pop()
        sub = called.get(task.id) if called else None
        children = task._children
        if (children or sub is not None) and (task._state >= min_state or sub is not None) \
                and depth < MAX_DEPTH:
            below, get = local + 1, task.workflow.tasks.get
            # A list, not a generator: resuming one per child cost ≈ 15 % of the walk.
            stack.extend([(get(child), below) for child in reversed(children)])
            if sub is not None and not (task._state >= TaskState.FINISHED_MASK and finished_only):
                stack.append((sub.task_tree, 0))
            depth += 1
        elif stack:
            after, after_local = stack[-1]
            depth -= local - after_local if after.workflow is task.workflow else local
        if task._state & state and task.last_state_change >= 0 and (manual is None or task.task_spec.manual == manual):
            yield task


class _Stepping:
    """The walk for the engine loop's queries, in a top-level workflow and in its subprocesses alike."""

    task_tree: Task

    def get_tasks_iterator(self, first_task=None, **kwargs):
        if kwargs.keys() <= _PLAIN_QUERY:
            return walk(first_task or self.task_tree, **kwargs)
        return super().get_tasks_iterator(first_task, **kwargs)

    def update_waiting_tasks(self) -> None:
        """Update every WAITING task, as SpiffWorkflow does after every task that completes."""
        for task in walk(self.task_tree, TaskState.WAITING, subprocesses=False):
            task.task_spec._update(task)


class SteppingSubWorkflow(_Stepping, BpmnSubWorkflow):
    """A called process's workflow (call activity, subprocess) of a `SteppingWorkflow`."""


class SteppingWorkflow(_Stepping, BpmnWorkflow):
    """`BpmnWorkflow` with the cheaper walk; its subprocesses get it too."""

    def create_subprocess(self, my_task, spec_name):
        subprocess = SteppingSubWorkflow(self.subprocess_specs[spec_name], parent_task_id=my_task.id,
                                         top_workflow=self)
        self.subprocesses[my_task.id] = subprocess
        return subprocess


_task_log = logging.getLogger("spiff.task")


def _set_state(self: Task, value: int) -> None:
    """SpiffWorkflow's `Task._set_state`, building its log record's message and extras (the task's names,
    its parent looked up, the state's name: ≈ 5 % of a timer's CPU) only when the record is logged."""
    if value != self.state:
        previous = self.last_state_change
        self.last_state_change = time.time()
        self._state = value
        if _task_log.isEnabledFor(logging.INFO):
            _task_log.info(f"State changed to {TaskState.get_name(value)}",
                           extra=self.collect_log_extras({"elapsed": self.last_state_change - previous}))
    elif _task_log.isEnabledFor(logging.DEBUG):
        _task_log.debug(f"State set to {TaskState.get_name(value)}", extra=self.collect_log_extras())


Task._set_state = _set_state

_merge = DeepMerge.merge


def _merge_data(a, b, path=None):
    """SpiffWorkflow's `DeepMerge.merge`, with which a task takes its parent's data at every update (dozens of
    times a step), returning at once when every item of `b` is in `a` already: there it changes nothing."""
    if type(a) is dict and type(b) is dict and b.items() <= a.items():
        return a
    return _merge(a, b, path)


DeepMerge.merge = staticmethod(_merge_data)
