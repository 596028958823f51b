"""`kill -9` under load. Staff work through the REST API while server processes are killed with SIGKILL at
random moments; afterwards, against the database: every acknowledged complaint exists exactly once, every
acknowledged completion is stored, no timer fired twice or was lost, no complaint row is left locked, and
the audit trail matches the stored state. Run with `-s` to see the figures.

* PostgreSQL, production layout: gunicorn with 3 sync workers and 2 `complaints worker` processes; 100
  kills of a random web worker (gunicorn starts a new one) or timer worker (replaced, as a supervisor
  would). Each kill waits for a victim that has started (has a database session: a web worker once it has
  served a request), so that none is spent on a process still starting; a web worker's kill also waits for
  the staff to have been answered since the last one, so that the kills cut into the load without starving
  it (a new web worker starts its sandbox's workers for its first complaint). The timer workers run on a
  clock 30 days ahead (`COMPLAINTS_NOW`), the web on real time: every warning and deadline a web request
  records is due for the workers at once, so timers fire all through the load, racing the staff's
  completions for the same complaints. A backlog of complaints recorded before the load keeps the timer
  workers busy at first, so that their kills land inside transactions.
* SQLite, the embedded default: one `complaints serve` (one worker, whose timer thread fires the timers),
  killed as a whole 20 times, each time soon after it has answered the staff, and started again. Each start
  comes back an hour later on the clock, so the timers of the tasks that were open at the kill are due when
  it comes back.

The processes are in `tests/faults/cluster.py` (started as forks of a process that has imported their code,
`tests/workers/prestarted.py`), the staff in `tests/faults/staff.py`, the checks in `tests/faults/checks.py`.
Both tests are marked `faults` (slow, real processes killed): `make test` runs them, `make test-fast` does not.
"""
from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.models import Timer
from tests.backlog import start_many
from tests.faults import checks
from tests.faults.cluster import POLL, STARTING, Cluster
from tests.faults.staff import DRIVERS, RETRY_LIMIT, Ledger, tokens_of_the_demo_users, under_load

pytestmark = pytest.mark.faults

# PostgreSQL: production layout.
KILLS = 100
WEB_WORKERS = 3
TIMER_WORKERS = 2
#: Seconds between a kill and the next, drawn uniformly, before it waits for a victim that has started: the
#: kills land anywhere in a request or a timer transaction (see the figures "found just before").
KILL_GAP = (0.05, 0.5)
#: How long a kill may wait for a victim that has started.
START_LIMIT = 60
#: Requests the staff have had answered since the last kill of a web worker, before the next.
ANSWERS_BETWEEN_WEB_KILLS = DRIVERS
WORKER_CLOCK_AHEAD = timedelta(days=30)
#: The drain's workers run this much later than `WORKER_CLOCK_AHEAD`: past the longest backoff a timer can be
#: in (engine/complaints/timers.py: BACKOFF doubled up to MAX_ATTEMPTS, under 8 minutes in all).
DRAIN_CLOCK_STEP = timedelta(hours=1)
#: Complaints recorded before the load (tests/backlog.py), two timers each, all due for the timer workers
#: (about 25 s of work).
BACKLOG = 1000

# SQLite: the embedded default.
RESTARTS = 20
#: Requests a started server answers the staff, and then the seconds it runs on, before it is killed (its timer
#: thread fires what came due at once).
ANSWERS_PER_LIFE = DRIVERS
LIFE = (0.1, 1.0)
#: How far the clock moves at each start: more than the first deadlines (PT30M, PT10M, PT40M).
CLOCK_STEP = timedelta(hours=1)


class Phases:
    """How long each phase of a test took, for its figures."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.monotonic()

    def done(self, phase: str) -> None:
        now = time.monotonic()
        self.seconds[phase], self._last = now - self._last, now


def _after_answers(ledger: Ledger, count: int, cluster: Cluster) -> int:
    """Wait until the staff have had `count` requests answered in all; that count."""
    if not ledger.wait_for_answers(count):
        cluster.check_alive()
        raise AssertionError(f"the staff have had no answer for {RETRY_LIMIT} s")
    return ledger.answered()


def _started_victim(states: Callable[[], dict], cluster: Cluster, rng: random.Random,
                    spared: set) -> tuple[Hashable, str]:
    """A process that has started, drawn at random, with what it is doing; waits for one when none has."""
    deadline = time.monotonic() + START_LIMIT
    while True:
        found = {victim: state for victim, state in states().items() if victim not in spared}
        ready = [victim for victim, state in found.items() if state != STARTING]
        if ready:
            victim = rng.choice(ready)
            return victim, found[victim]
        cluster.check_alive()
        assert time.monotonic() < deadline, f"no process started within {START_LIMIT} s: {found}"
        time.sleep(POLL)


@pytest.fixture
def cluster(system, database_url, tmp_path):
    processes = Cluster(database_url, tmp_path)
    try:
        yield processes
    finally:
        processes.kill_all()


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_kill_nine_web_and_timer_workers_100_times_under_load(system, cluster):
    phases = Phases()
    tokens = tokens_of_the_demo_users(system)
    backlog = set(start_many(system, BACKLOG))
    worker_now = datetime.now(UTC) + WORKER_CLOCK_AHEAD
    cluster.start_web(workers=WEB_WORKERS, threads=1, timer_thread=False)
    for _ in range(TIMER_WORKERS):
        cluster.start_timer_worker(worker_now)
    phases.done("start")
    rng = random.Random(20261123)
    kills: Counter = Counter()
    found: Counter = Counter()  # what each victim was doing in the database, sampled just before the kill
    killed: set[int] = set()  # web workers killed: one may still be listed for a moment

    def kill(ledger: Ledger) -> None:
        engine = system.db.engine
        answered = 0
        while kills.total() < KILLS:
            time.sleep(rng.uniform(*KILL_GAP))
            cluster.check_alive()
            if rng.random() < 0.5:
                answered = _after_answers(ledger, answered + ANSWERS_BETWEEN_WEB_KILLS, cluster)
                pid, state = _started_victim(lambda: cluster.web_worker_states(engine), cluster, rng, killed)
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
                kills["web worker"] += 1
                found[f"web worker, found just before: {state}"] += 1
                continue
            victim, state = _started_victim(lambda: cluster.timer_worker_states(engine), cluster, rng, set())
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            cluster.timer_workers.remove(victim)
            cluster.start_timer_worker(worker_now)
            kills["timer worker"] += 1
            found[f"timer worker, found just before: {state}"] += 1

    ledger = under_load(cluster.api, tokens, kill)
    phases.done("under load")
    fired_under_load = checks.fired(system)
    # A timer whose firing a kill interrupted again (its attempts counted before firing) waits out its backoff
    # (engine/complaints/timers.py) — on the workers' clock, which COMPLAINTS_NOW freezes at worker_now, so
    # it would never come due. Like an operator's restart some time later, the drain's workers run later.
    backing_off = checks.scalar(system, select(func.count()).select_from(Timer).where(
        Timer.status == "waiting", Timer.due_at <= worker_now, Timer.next_attempt_at > worker_now))
    drain_now = worker_now + DRAIN_CLOCK_STEP
    cluster.replace_timer_workers(drain_now)
    checks.drain(system, cluster, drain_now)
    cluster.check_alive()
    checks.check_no_locks(system, cluster)
    cluster.stop()
    checks.wait_sessions_gone(system, cluster)
    assert not cluster.tracebacks(), f"exceptions in the server logs: {cluster.tracebacks()}"
    phases.done("drain and stop")

    checks.check_acknowledged(system, ledger, frozenset(backlog))
    timers = checks.check_audit_matches_state(system, drain_now)
    phases.done("checks")
    assert kills.total() == KILLS
    timers["timers in backoff after killed attempts when the load ended"] = backing_off
    checks.report("kill -9 under load, PostgreSQL", kills + found, ledger, timers, fired_under_load,
                  checks.fired(system), phases.seconds, len(backlog))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_kill_nine_the_embedded_server_20_times_under_load(system, cluster):
    phases = Phases()
    tokens = tokens_of_the_demo_users(system)
    lives = [datetime.now(UTC) + n * CLOCK_STEP for n in range(RESTARTS + 1)]
    cluster.start_web(workers=1, threads=DRIVERS, timer_thread=True, now=lives[0])
    phases.done("start")
    rng = random.Random(20261124)
    kills: Counter = Counter()

    def kill(ledger: Ledger) -> None:
        for now in lives[1:]:
            _after_answers(ledger, ledger.answered() + ANSWERS_PER_LIFE, cluster)
            time.sleep(rng.uniform(*LIFE))
            cluster.check_alive()
            cluster.kill_server()
            kills["complaints serve (whole process group)"] += 1
            cluster.start_web(workers=1, threads=DRIVERS, timer_thread=True, now=now)

    ledger = under_load(cluster.api, tokens, kill)
    phases.done("under load")
    fired_under_load = checks.fired(system)
    checks.drain(system, cluster, lives[-1])
    cluster.check_alive()
    cluster.stop()
    phases.done("drain and stop")
    with system.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert not cluster.tracebacks(), f"exceptions in the server logs: {cluster.tracebacks()}"

    checks.check_acknowledged(system, ledger)
    timers = checks.check_audit_matches_state(system, lives[-1])
    phases.done("checks")
    assert kills.total() == RESTARTS
    checks.report("kill -9 under load, SQLite", kills, ledger, timers, fired_under_load, checks.fired(system),
                  phases.seconds)
