"""Complete-task cost: raw SpiffWorkflow against the engine, as a complaint's history grows.

raw    = deserialize the whole workflow (spec included, SpiffWorkflow's own serializer) → complete one
         task → serialize, all in memory, no database; model code runs in the sandbox in the calling thread.
engine = `tasks.complete_task`: lock, load, validate, run, compact, save state, task table, audit,
         commit — on the default SQLite file database.

Both complete the same tasks of the same model at the same round of the "not satisfied" loop. Half of the
engine's complaints run their model code in the calling thread instead of the isolated sandbox workers: the
difference is what isolation costs per task (docs/PERFORMANCE.md).
"""
from __future__ import annotations

import statistics
import tempfile
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from sqlalchemy import select

from engine.bootstrap import init_system
from engine.complaints import intake, tasks
from engine.config import load_settings
from engine.db import UnitOfWork, open_database
from engine.models import Complaint, WorkTask
from engine.people.users import actor_by_username
from engine.workflow import runtime
from engine.workflow.functions import MODEL_FUNCTIONS
from engine.workflow.sandbox import isolation, make_script_engine
from engine.workflow.versions import load_version
from tests.lifecycle import ANSWERS, INTAKE, WORKER

ROUNDS = (1, 5, 20)
SAMPLES = 25
ROUND_TASKS = ("analyse_and_propose", "approve_solution", "implement_solution", "follow_up")
SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))


def _open_row(db, complaint_id):
    with UnitOfWork(db, write=False) as uow:
        return uow.session.scalars(select(WorkTask).where(
            WorkTask.complaint_id == complaint_id, WorkTask.status == "open")).one()


def _complete(db, actors, complaint_id, **overrides):
    row = _open_row(db, complaint_id)
    data = dict(ANSWERS[row.name], **overrides.get(row.name, {}))
    with UnitOfWork(db) as uow:
        tasks.complete_task(uow, actors[WORKER[row.name]], row.id, data)
    return row.name


def _drive_to_round(db, actors, complaint_id, target_round):
    """Advance a fresh complaint to the start of `target_round` (its analyse_and_propose open)."""
    for _validity_then_hand_over in range(2):
        _complete(db, actors, complaint_id)
    current = 1
    while current < target_round:
        name = _complete(db, actors, complaint_id, follow_up={"satisfied": False},
                         gm_decide={"decision": "handle_again"})
        if name == "follow_up":
            current += 1
        if _open_row(db, complaint_id).name == "gm_decide":
            _complete(db, actors, complaint_id, gm_decide={"decision": "handle_again"})


def _raw_state(db, complaint_id) -> str:
    """The complaint as SpiffWorkflow itself would store it: spec and whole task tree, one JSON."""
    with UnitOfWork(db, write=False) as uow:
        version = load_version(uow.session, uow.session.get(Complaint, complaint_id).version_id)
    return SERIALIZER.serialize_json(_uncompacted(db, complaint_id, version))


def _uncompacted(db, complaint_id, version):
    """Replay the complaint's audited task completions on a plain workflow (history kept whole)."""
    from engine.audit import timeline

    with UnitOfWork(db, write=False) as uow:
        events = timeline(uow.session, complaint_id)
    wf = runtime.start(version, events[0].data, runtime.script_engine())
    for event in events:
        if event.kind == "task_completed":
            runtime.run_user_task(wf, runtime.ready_user_tasks(wf)[0], event.data)
    return wf


def _answers(name):
    return dict(ANSWERS[name], **({"satisfied": False} if name == "follow_up" else {}))


def _raw_cycle(state: str, name: str) -> tuple[float, str]:
    started = time.perf_counter()
    wf = SERIALIZER.deserialize_json(state)
    wf.script_engine = make_script_engine(MODEL_FUNCTIONS)
    task = runtime.ready_user_tasks(wf)[0]
    assert task.task_spec.bpmn_id == name, task.task_spec.bpmn_id
    runtime.run_user_task(wf, task, _answers(name))
    state = SERIALIZER.serialize_json(wf)
    return time.perf_counter() - started, state


def _engine_cycle(db, actors, complaint_id) -> float:
    row = _open_row(db, complaint_id)
    started = time.perf_counter()
    with UnitOfWork(db) as uow:
        tasks.complete_task(uow, actors[WORKER[row.name]], row.id, _answers(row.name))
    return time.perf_counter() - started


class _RoundTrips:
    """Counts and times the calls this process's sandbox workers answer."""

    def __init__(self):
        self.calls, self.seconds = 0, 0.0
        self._call = isolation.WorkerPool.call

    def __enter__(self):
        def timed(pool, *args):
            started = time.perf_counter()
            try:
                return self._call(pool, *args)
            finally:
                self.calls += 1
                self.seconds += time.perf_counter() - started
        isolation.WorkerPool.call = timed
        return self

    def __exit__(self, *exc):
        isolation.WorkerPool.call = self._call


@contextmanager
def _model_code_in_process():
    """The engine with model code in the calling thread, as before isolation (to measure what it costs)."""
    isolated = runtime.script_engine
    runtime.script_engine = lambda: make_script_engine(MODEL_FUNCTIONS)
    try:
        yield
    finally:
        runtime.script_engine = isolated


def _measure(db, actors, complaint_ids) -> dict:
    """Raw and engine cycles over one round of tasks, interleaved so both see the same machine load; every
    other complaint's engine cycles run model code in process."""
    raw, engine, in_process, raw_size = [], [], [], 0
    calls, call_seconds = 0, 0.0
    with _RoundTrips() as trips:
        for index, cid in enumerate(complaint_ids):
            state = _raw_state(db, cid)
            raw_size = len(state)
            for name in ROUND_TASKS:
                seconds, state = _raw_cycle(state, name)
                raw.append(seconds)
                if index % 2:
                    with _model_code_in_process():
                        in_process.append(_engine_cycle(db, actors, cid))
                else:
                    before = trips.calls, trips.seconds
                    engine.append(_engine_cycle(db, actors, cid))
                    calls += trips.calls - before[0]
                    call_seconds += trips.seconds - before[1]
    with UnitOfWork(db, write=False) as uow:
        engine_size = len(uow.session.get(Complaint, complaint_ids[0]).state)
    return {"raw_ms": statistics.median(raw) * 1000, "engine_ms": statistics.median(engine) * 1000,
            "in_process_ms": statistics.median(in_process) * 1000, "calls_per_task": calls / len(engine),
            "ms_per_call": call_seconds / max(calls, 1) * 1000,
            "raw_bytes": raw_size, "engine_bytes": engine_size}


def run() -> list[dict]:
    """Measure and print; return the rows."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = replace(load_settings({}), database_url=url, instance_dir=Path(tmp))
        db = open_database(url)
        init_system(db, settings, demo=True)
        with UnitOfWork(db, write=False) as uow:
            actors = {u: actor_by_username(uow, u) for u in set(WORKER.values())}
        for target in ROUNDS:
            ids = []
            for _ in range(SAMPLES):
                with UnitOfWork(db) as uow:
                    ids.append(intake.record_complaint(uow, settings, actors["agent1"], dict(INTAKE),
                                                       "bench-secret").result.complaint_id)
                _drive_to_round(db, actors, ids[-1], target)
            rows.append(dict(round=target, **_measure(db, actors, ids)))
        db.dispose()
    base_raw, base_engine = rows[0]["raw_ms"], rows[0]["engine_ms"]
    print("complete one task — median of", SAMPLES * len(ROUND_TASKS), "tasks per round (SQLite file)")
    print(f"{'round':>5} {'raw ms':>8} {'engine ms':>10} {'engine/raw':>10} {'raw vs r1':>9} "
          f"{'engine vs r1':>12} {'raw state':>10} {'engine state':>12}")
    for r in rows:
        print(f"{r['round']:>5} {r['raw_ms']:>8.2f} {r['engine_ms']:>10.2f} {r['engine_ms'] / r['raw_ms']:>10.2f} "
              f"{r['raw_ms'] / base_raw:>9.2f} {r['engine_ms'] / base_engine:>12.2f} "
              f"{r['raw_bytes']:>10,} {r['engine_bytes']:>12,}")
    print(f"targets: engine/raw at round 1 <= 1.5 -> {rows[0]['engine_ms'] / rows[0]['raw_ms']:.2f}; "
          f"engine round {ROUNDS[-1]} / round 1 <= 1.3 -> {rows[-1]['engine_ms'] / base_engine:.2f}")
    print("model code isolated in sandbox workers (engine) against run in process:")
    print(f"{'round':>5} {'engine ms':>10} {'in process ms':>14} {'isolation ms':>13} {'calls/task':>11} "
          f"{'ms/call':>8}")
    for r in rows:
        print(f"{r['round']:>5} {r['engine_ms']:>10.2f} {r['in_process_ms']:>14.2f} "
              f"{r['engine_ms'] - r['in_process_ms']:>13.2f} {r['calls_per_task']:>11.1f} {r['ms_per_call']:>8.3f}")
    return rows
