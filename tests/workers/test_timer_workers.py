"""Timer workers as real processes: two workers fire 1,000 due timers exactly once; a worker killed
with SIGKILL in the middle loses nothing and doubles nothing."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine import clock
from engine.db import UnitOfWork
from engine.models import AuditEvent, Complaint, Penalty, Timer
from tests.lifecycle import start

COMPLAINTS = 500  # two timers each (warning + deadline of the first response) = 1,000 timers
CLI = str(Path(sys.executable).parent / "complaints")

pytestmark = pytest.mark.slow  # real worker processes


def _seed(system):
    for _ in range(COMPLAINTS):
        start(system)
    return (clock.now() + timedelta(minutes=31)).isoformat()


def _worker(database_url, now):
    env = dict(os.environ, DATABASE_URL=database_url, COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1", COMPLAINTS_NOW=now)
    return subprocess.Popen([CLI, "worker", "--poll", "0.1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _count(system, query):
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(query)


def _fired(system):
    return _count(system, select(func.count()).select_from(Timer).where(Timer.status == "fired"))


def _wait_until_all_fired(system, procs, limit=300):
    deadline = time.monotonic() + limit
    while _fired(system) < 2 * COMPLAINTS:
        assert time.monotonic() < deadline, f"only {_fired(system)} fired"
        for p in procs:
            assert p.poll() is None, p.stderr.read().decode()
        time.sleep(0.2)


def _stop(procs):
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=30)


def _check_exactly_once(system):
    def kind(name):
        return _count(system, select(func.count()).select_from(AuditEvent).where(AuditEvent.kind == name))

    assert _fired(system) == 2 * COMPLAINTS
    assert _count(system, select(func.count()).select_from(Timer).where(Timer.status != "fired")) == 0
    assert _count(system, select(func.count()).select_from(Penalty)) == COMPLAINTS
    assert kind("deadline_warning") == COMPLAINTS
    assert kind("deadline_breached") == COMPLAINTS
    assert kind("task_escalated") == COMPLAINTS
    if system.db.engine.dialect.name == "postgresql":  # no complaint row is left locked
        with system.db.engine.connect() as conn:
            conn.execute(text("SET lock_timeout = '2s'"))
            locked = conn.execute(select(func.count()).select_from(
                select(Complaint.id).with_for_update(nowait=True).subquery())).scalar()
            assert locked == COMPLAINTS


def test_two_workers_fire_each_timer_exactly_once(system, database_url):
    now = _seed(system)
    procs = [_worker(database_url, now) for _ in range(2)]
    try:
        _wait_until_all_fired(system, procs)
    finally:
        _stop(procs)
    _check_exactly_once(system)


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(system, database_url):
    now = _seed(system)
    victim = _worker(database_url, now)
    while _fired(system) < 100:
        assert victim.poll() is None, victim.stderr.read().decode()
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert _fired(system) < 2 * COMPLAINTS, "the kill came too late to be mid-batch"
    survivor = _worker(database_url, now)
    try:
        _wait_until_all_fired(system, [survivor])
    finally:
        _stop([survivor])
    _check_exactly_once(system)
