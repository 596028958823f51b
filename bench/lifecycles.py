"""End-to-end throughput: whole complaint lifecycles (intake → … → archived, 8 user tasks) per second.

raw    = SpiffWorkflow alone as a stateless server would use it: start, then for each task deserialize →
         complete → serialize, in memory, no database, no checks.
engine = `intake.record_complaint` + 8 × `tasks.complete_task` with everything they do (locking,
         validation, task table, timers, audit, notifications) on the default SQLite file database,
         one process.
"""
from __future__ import annotations

import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select

from bench.engine_vs_raw import SERIALIZER
from engine.bootstrap import init_system
from engine.complaints import intake, tasks
from engine.config import load_settings
from engine.db import UnitOfWork, open_database
from engine.models import WorkTask
from engine.people.users import actor_by_username
from engine.workflow import runtime
from engine.workflow.deploy import current_version
from engine.workflow.versions import load_version
from tests.lifecycle import ANSWERS, INTAKE, WORKER

HAPPY_PATH = ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution",
              "follow_up", "cs_sign_off", "gm_review")
LIFECYCLES = 150


def _raw_lifecycle(version) -> None:
    state = SERIALIZER.serialize_json(runtime.start(version, dict(INTAKE), runtime.script_engine()))
    for name in HAPPY_PATH:
        workflow = SERIALIZER.deserialize_json(state)
        workflow.script_engine = runtime.script_engine()
        runtime.run_user_task(workflow, runtime.ready_user_tasks(workflow)[0], ANSWERS[name])
        state = SERIALIZER.serialize_json(workflow)
    assert runtime.outcome(SERIALIZER.deserialize_json(state)) == "end_archived"


def _engine_lifecycle(db, settings, actors) -> None:
    with UnitOfWork(db) as uow:
        result = intake.record_complaint(uow, settings, actors["agent1"], dict(INTAKE), "bench-secret").result
    task_id = result.open_tasks[0]["id"]
    for name in HAPPY_PATH:
        with UnitOfWork(db) as uow:
            result = tasks.complete_task(uow, actors[WORKER[name]], task_id, ANSWERS[name])
        task_id = result.open_tasks[0]["id"] if result.open_tasks else None
    assert result.status == "closed"


def run() -> dict:
    """Measure and print lifecycles per second."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        db = open_database(url)
        settings = replace(load_settings({}), database_url=url, instance_dir=Path(tmp))
        init_system(db, settings, demo=True)
        with UnitOfWork(db, write=False) as uow:
            actors = {u: actor_by_username(uow, u) for u in set(WORKER.values())}
            version = load_version(uow.session, current_version(uow.session, settings.process_id).id)
        started = time.perf_counter()
        for _ in range(LIFECYCLES):
            _raw_lifecycle(version)
        raw = LIFECYCLES / (time.perf_counter() - started)
        started = time.perf_counter()
        for _ in range(LIFECYCLES):
            _engine_lifecycle(db, settings, actors)
        engine = LIFECYCLES / (time.perf_counter() - started)
        with UnitOfWork(db, write=False) as uow:
            assert uow.session.scalar(select(WorkTask.id).where(WorkTask.status == "open")) is None
        db.dispose()
    print(f"\nwhole lifecycles (8 user tasks each), {LIFECYCLES} of them, one process")
    print(f"  raw SpiffWorkflow (in memory):   {raw:7.1f} lifecycles/s")
    print(f"  engine (SQLite, everything):     {engine:7.1f} lifecycles/s   ({engine / raw:.2f}x raw)")
    return {"raw_per_second": raw, "engine_per_second": engine}
