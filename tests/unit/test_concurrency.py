"""Concurrent submissions of the same task: exactly one wins, the rest get a conflict, state stays whole."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from engine.complaints import tasks
from engine.db import UnitOfWork, open_database
from engine.errors import Conflict
from engine.models import AuditEvent, Complaint, WorkTask
from tests.lifecycle import ANSWERS, open_task, start
from tests.workers import prestarted

WORKERS = 8


def _complete(db, actor, task_id) -> str:
    try:
        with UnitOfWork(db) as uow:
            tasks.complete_task(uow, actor, task_id, ANSWERS["judge_validity"])
        return "ok"
    except Conflict:
        return "conflict"


def _check_consistent(system, cid, version_before):
    with UnitOfWork(system.db, write=False) as uow:
        completed = uow.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.complaint_id == cid, AuditEvent.kind == "task_completed"))
        complaint = uow.session.get(Complaint, cid)
        open_names = list(uow.session.scalars(select(WorkTask.name).where(
            WorkTask.complaint_id == cid, WorkTask.status == "open")))
    assert completed == 1
    assert open_names == ["hand_over"]
    assert complaint.lock_version == version_before + 1
    assert complaint.valid is True


def test_eight_threads_complete_the_same_task(system):
    cid = start(system).complaint_id
    row = open_task(system, cid)
    before = open_task(system, cid) and _version(system, cid)
    actor = system.actor("agent1")
    barrier = threading.Barrier(WORKERS)
    results = []

    def run():
        barrier.wait()
        results.append(_complete(system.db, actor, row.id))

    threads = [threading.Thread(target=run) for _ in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * (WORKERS - 1) + ["ok"]
    _check_consistent(system, cid, before)


def _version(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.get(Complaint, cid).lock_version


def _process_main(url, actor, task_id, barrier, results):
    db = open_database(url)
    barrier.wait()
    results.put(_complete(db, actor, task_id))
    db.dispose()


@pytest.mark.slow  # eight engine processes
def test_eight_processes_complete_the_same_task(system, database_url):
    cid = start(system).complaint_id
    row = open_task(system, cid)
    before = _version(system, cid)
    # Forks of the fork server, which has imported the engine (tests/workers/prestarted.py): eight processes of
    # their own, each with its own connection, without eight new interpreters importing it all.
    ctx = prestarted.CONTEXT
    barrier, results = ctx.Barrier(WORKERS), ctx.Queue()
    procs = [ctx.Process(target=_process_main, args=(database_url, system.actor("agent1"), row.id, barrier, results))
             for _ in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    outcomes = sorted(results.get(timeout=5) for _ in procs)
    assert outcomes == ["conflict"] * (WORKERS - 1) + ["ok"]
    _check_consistent(system, cid, before)
