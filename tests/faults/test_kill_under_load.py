"""`kill -9` under load. Staff work through the REST API while server processes are killed with SIGKILL at
random moments; afterwards, against the database: every acknowledged complaint exists exactly once, every
acknowledged completion is stored, no timer fired twice or was lost, no complaint row is left locked, and
the audit trail matches the stored state. Run with `-s` to see the figures.

* PostgreSQL, production layout: gunicorn with 3 sync workers and 2 `complaints worker` processes; 100
  kills of a random web worker (gunicorn starts a new one) or timer worker (replaced, as a supervisor
  would). The timer workers run on a clock 30 days ahead (`COMPLAINTS_NOW`), the web on real time: every
  warning and deadline a web request records is due for the workers at once, so timers fire all through
  the load, racing the staff's completions for the same complaints. A backlog of complaints recorded
  before the load keeps the timer workers busy at first, so that their kills land inside transactions.
* SQLite, the embedded default: one `complaints serve` (one worker, whose timer thread fires the timers),
  killed as a whole 20 times and started again. Each start comes back an hour later on the clock, so the
  timers of the tasks that were open at the kill are due when it comes back.

Both are marked `faults` (slow, real processes killed): `make test` runs them, `make test-fast` does not.
"""
from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select, text
from urllib3.exceptions import NewConnectionError

from engine.bootstrap import DEMO_USERS
from engine.complaints import timers as timers_module
from engine.complaints.idempotency import KEY_FIELD
from engine.db import UnitOfWork
from engine.models import AuditEvent, Complaint, IdempotencyRecord, Penalty, Timer, User, WorkTask
from engine.people import tokens as api_tokens
from engine.workflow import runtime, store
from engine.workflow.functions import is_no_deadline
from engine.workflow.versions import load_version
from tests.backlog import start_many
from tests.lifecycle import ANSWERS, INTAKE
from web.api.complaints import SCOPE as CREATE_SCOPE

pytestmark = pytest.mark.faults

CLI = str(Path(sys.executable).parent / "complaints")
DRIVERS = 4
#: How long one operation may keep retrying (through kills and restarts) before the test calls it lost.
RETRY_LIMIT = 90
ANSWER = dict(ANSWERS, progress_check={"customer_reached": True, "progress_note": "顾客确认正在处理"})
ROLE_USER = {"cs_manager": "cs_manager", "general_manager": "gm"}

# PostgreSQL: production layout.
KILLS = 100
WEB_WORKERS = 3
TIMER_WORKERS = 2
#: Seconds between two kills, drawn uniformly: kills land anywhere in a request or a timer transaction.
KILL_GAP = (0.2, 1.8)
WORKER_CLOCK_AHEAD = timedelta(days=30)
#: The drain's workers run this much later than `WORKER_CLOCK_AHEAD`: past the longest backoff a timer can be
#: in (engine/complaints/timers.py: BACKOFF doubled up to MAX_ATTEMPTS, under 8 minutes in all).
DRAIN_CLOCK_STEP = timedelta(hours=1)
#: Complaints recorded before the load (tests/backlog.py), two timers each, all due for the timer workers
#: (about 25 s of work).
BACKLOG = 1000

# SQLite: the embedded default.
RESTARTS = 20
#: Seconds a started server runs under load before it is killed.
LIFE = (0.3, 2.5)
#: How far the clock moves at each start: more than the first deadlines (PT30M, PT10M, PT40M).
CLOCK_STEP = timedelta(hours=1)


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        return listener.getsockname()[1]


def _children(pid: int) -> list[int]:
    """Live (not zombie) child processes of `pid`, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if int(ppid) == pid and state != "Z":
            found.append(int(entry))
    return found


class Cluster:
    """The processes under test, each started in its own session so teardown can kill what is left."""

    def __init__(self, database_url: str, instance: Path):
        self.database_url = database_url
        self.postgres = not database_url.startswith("sqlite")
        self.logs = instance / "logs"
        self.logs.mkdir(parents=True)
        #: Prefix of the servers' database session names (pg_stat_activity.application_name).
        self.application_name = f"kill_{uuid.uuid4().hex[:10]}"
        self.base_env = {k: v for k, v in os.environ.items()
                         if k not in ("COMPLAINTS_NOW", "COMPLAINTS_ALLOW_CLOCK_OVERRIDE")}
        # XDG_RUNTIME_DIR: gunicorn's control socket goes there, not into a path shared with other servers.
        self.base_env.update(SECRET_KEY="kill-under-load", COMPLAINTS_INSTANCE=str(instance),
                             XDG_RUNTIME_DIR=str(instance))
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}/api/v1"
        self.arbiter: subprocess.Popen | None = None
        self.timer_workers: list[subprocess.Popen] = []
        self._started: list[subprocess.Popen] = []
        self._names: dict[int, str] = {}

    def session_name(self, proc: subprocess.Popen) -> str:
        return f"{self.application_name}_{self._names[proc.pid]}"

    def _spawn(self, args: list[str], name: str, now: datetime | None) -> subprocess.Popen:
        url = self.database_url
        if self.postgres:
            url += f"{'&' if '?' in url else '?'}application_name={self.application_name}_{name}"
        env = dict(self.base_env, DATABASE_URL=url)
        if now is not None:
            env.update(COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1", COMPLAINTS_NOW=now.isoformat())
        with open(self.logs / f"{name}.log", "wb") as log:
            proc = subprocess.Popen([CLI, *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self._started.append(proc)
        self._names[proc.pid] = name
        return proc

    def start_web(self, workers: int, threads: int, timer_thread: bool, now: datetime | None = None) -> None:
        """Start `complaints serve` and wait until it answers."""
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
                "--threads", str(threads)] + ([] if timer_thread else ["--no-timer-worker"])
        self.arbiter = self._spawn(args, f"web{len(self._started)}", now)
        deadline = time.monotonic() + 60
        while True:
            assert self.arbiter.poll() is None, "the server stopped\n" + self.tail(self.arbiter)
            try:
                if requests.get(self.api + "/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "the server did not start\n" + self.tail(self.arbiter)
            time.sleep(0.1)

    def start_timer_worker(self, now: datetime) -> None:
        self.timer_workers.append(self._spawn(["worker", "--poll", "0.2"], f"timer{len(self._started)}", now))

    def replace_timer_workers(self, now: datetime) -> None:
        """Stop the timer workers gracefully and start as many on the clock `now`."""
        count = len(self.timer_workers)
        for proc in self.timer_workers:
            proc.send_signal(signal.SIGTERM)
        for proc in self.timer_workers:
            proc.wait(timeout=60)
        self.timer_workers = []
        for _ in range(count):
            self.start_timer_worker(now)

    def web_workers(self) -> list[int]:
        """gunicorn's worker processes (the only children of its arbiter)."""
        return _children(self.arbiter.pid)

    def check_alive(self) -> None:
        for proc in (self.arbiter, *self.timer_workers):
            assert proc.poll() is None, "a server process died by itself\n" + self.tail(proc)

    def tail(self, proc: subprocess.Popen, lines: int = 40) -> str:
        path = self.logs / f"{self._names[proc.pid]}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def tracebacks(self) -> list[str]:
        """The logs in which a server process reported an unexpected exception (a 500, a failed timer pass)."""
        return sorted(path.name for path in self.logs.iterdir() if "Traceback" in path.read_text(errors="replace"))

    def kill_server(self) -> None:
        """SIGKILL `complaints serve` with its workers (its process group), like a crash of its host."""
        os.killpg(self.arbiter.pid, signal.SIGKILL)
        self.arbiter.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), as an operator would."""
        running = [p for p in (self.arbiter, *self.timer_workers) if p.poll() is None]
        for proc in running:
            proc.send_signal(signal.SIGTERM)
        for proc in running:
            proc.wait(timeout=60)

    def kill_all(self) -> None:
        """Kill the process group of every process this test started that still runs (gunicorn's
        workers are in their arbiter's group)."""
        for proc in self._started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def cluster(system, database_url, tmp_path):
    processes = Cluster(database_url, tmp_path)
    try:
        yield processes
    finally:
        processes.kill_all()


@dataclass
class Ledger:
    """What the clients were told: the basis of the checks."""

    #: idempotency key → (complaint id, the user who recorded it)
    created: dict[str, tuple[int, str]] = field(default_factory=dict)
    #: completions answered 200
    acknowledged: set[str] = field(default_factory=set)
    #: completions whose answer was lost, found completed when the task was read again
    confirmed: set[str] = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1


class Driver(threading.Thread):
    """A member of staff on the API: records a complaint (with an Idempotency-Key), then completes its
    open tasks one by one as whoever holds them until it is closed; then the next complaint."""

    def __init__(self, number: int, api: str, tokens: dict[str, str], ledger: Ledger, stop: threading.Event):
        super().__init__(name=f"driver-{number}", daemon=True)
        self.agent = ("agent1", "agent2")[number % 2]
        self.api, self.tokens, self.ledger, self.stop = api, tokens, ledger, stop
        self.rng = random.Random(number)
        self.http = requests.Session()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                complaint_id = self._create()
                self._read("/tasks?scope=mine", self.agent)
                while not self.stop.is_set() and self._step(complaint_id):
                    pass
        except BaseException as err:  # noqa: BLE001 - reported by the test
            self.error = err

    def _send(self, method: str, path: str, user: str, **kwargs) -> requests.Response | None:
        """One request; None when no answer came (the server may or may not have acted)."""
        self.ledger.count("requests")
        headers = {"Authorization": f"Bearer {self.tokens[user]}", **kwargs.pop("headers", {})}
        try:
            response = self.http.request(method, self.api + path, headers=headers, timeout=(5, 30), **kwargs)
        except requests.RequestException as err:
            refused = isinstance(getattr(err.args[0] if err.args else None, "reason", None), NewConnectionError)
            self.ledger.count("requests refused (no server)" if refused else "requests cut off")
            return None
        if response.status_code == 503:
            self.ledger.count("503 answers")
        return response

    @staticmethod
    def _pause(deadline: float, what: str) -> None:
        assert time.monotonic() < deadline, f"{what}: no answer for {RETRY_LIMIT} s"
        time.sleep(0.1)

    @staticmethod
    def _expect(response: requests.Response, status: int) -> None:
        assert response.status_code == status, (
            f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:600]}")

    def _read(self, path: str, user: str) -> dict:
        deadline = time.monotonic() + RETRY_LIMIT
        while True:
            response = self._send("GET", path, user)
            if response is not None and response.status_code != 503:
                self._expect(response, 200)
                return response.json()
            self._pause(deadline, f"GET {path}")

    def _create(self) -> int:
        """Record a complaint, repeating the same key until the answer arrives."""
        key = f"kill-{uuid.uuid4()}"
        body = dict(INTAKE, order_id=key[-12:])
        deadline = time.monotonic() + RETRY_LIMIT
        while True:
            response = self._send("POST", "/complaints", self.agent, json=body, headers={KEY_FIELD: key})
            if response is not None and response.status_code != 503:
                self._expect(response, 201)
                complaint_id = response.json()["complaint_id"]
                with self.ledger.lock:
                    self.ledger.created[key] = (complaint_id, self.agent)
                    if response.headers.get("Idempotent-Replayed") == "true":
                        self.ledger.counts["creations answered by replay"] += 1
                return complaint_id
            self.ledger.count("creations retried")
            self._pause(deadline, "recording a complaint")

    def _step(self, complaint_id: int) -> bool:
        """Complete one open task of the complaint; False once it is closed."""
        detail = self._read(f"/complaints/{complaint_id}", "gm")
        if detail["status"] != "open":
            self.ledger.count("complaints closed")
            return False
        assert detail["open_tasks"], f"open complaint {complaint_id} has no open task"
        self._complete(self.rng.choice(detail["open_tasks"]), detail["version"])
        return True

    def _holder(self, task: dict) -> str:
        if task["escalated_to"] and self.rng.random() < 0.5:  # the superior takes over half of the time
            return ROLE_USER[task["escalated_to"]]
        if task["role"] == "agent":
            return task["assignee"] or self.agent
        if task["role"] == "department_head":
            return f"head_{task['department']}"
        return ROLE_USER[task["role"]]

    def _complete(self, task: dict, version: int) -> None:
        """Complete a task. When no answer came, or a 409: read the task. Completed means our request
        went through; still open means try again (after a 409, with the complaint's new version)."""
        user = self._holder(task)
        body = {"data": ANSWER[task["task"]], "version": version}
        path = f"/tasks/{task['id']}"
        unanswered = False
        deadline = time.monotonic() + RETRY_LIMIT
        while True:
            response = self._send("POST", path + "/complete", user, json=body)
            if response is not None and response.status_code == 200:
                with self.ledger.lock:
                    self.ledger.acknowledged.add(task["id"])
                return
            if response is not None and response.status_code not in (409, 503):
                self._expect(response, 200)
            unanswered |= response is None
            now = self._read(path, user)
            if now["status"] == "completed":
                assert unanswered, f"task {task['id']} was completed, but not by a request of ours"
                with self.ledger.lock:
                    self.ledger.confirmed.add(task["id"])
                return
            assert now["status"] == "open", f"task {task['id']} is {now['status']}"
            if response is not None and response.status_code == 409:
                self.ledger.count("completions refused as stale (409), retried")
                body["version"] = now["complaint"]["version"]
            else:
                self.ledger.count("completions retried")
            self._pause(deadline, f"completing {task['task']}")


def _tokens(system) -> dict[str, str]:
    tokens = {}
    for demo in DEMO_USERS:
        with UnitOfWork(system.db) as uow:
            tokens[demo.username] = api_tokens.create_token(uow, system.actor(demo.username), demo.username)[1]
    return tokens


def _under_load(cluster: Cluster, tokens: dict[str, str], kill) -> Ledger:
    """Run the drivers while `kill()` does its killing; then let them finish what they were doing."""
    ledger, stop = Ledger(), threading.Event()
    drivers = [Driver(n, cluster.api, tokens, ledger, stop) for n in range(DRIVERS)]
    for driver in drivers:
        driver.start()
    try:
        kill()
    finally:
        stop.set()
        for driver in drivers:
            driver.join(timeout=2 * RETRY_LIMIT)
    for driver in drivers:
        assert driver.error is None and not driver.is_alive(), f"{driver.name}: {driver.error!r}"
    return ledger


def _scalar(system, query):
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalar(query)


def _fired(system) -> int:
    return _scalar(system, select(func.count()).select_from(Timer).where(Timer.status == "fired"))


def _drain(system, cluster: Cluster, clock_now: datetime, limit: float = 90) -> None:
    """Let the surviving timer workers fire every timer that is due on their clock."""
    due = select(func.count()).select_from(Timer).where(Timer.status == "waiting", Timer.due_at <= clock_now)
    deadline = time.monotonic() + limit
    while _scalar(system, due):
        cluster.check_alive()
        assert time.monotonic() < deadline, "due timers were not fired"
        time.sleep(0.5)


def _session_state(system, session_name: str) -> str:
    """What a server process is doing in the database: not connected yet, idle, or inside a transaction."""
    with system.db.engine.connect() as conn:
        states = conn.scalars(text("SELECT state FROM pg_stat_activity WHERE application_name = :name"),
                              {"name": session_name}).all()
    if not states:
        return "starting"
    return "inside a transaction" if {"active", "idle in transaction"} & set(states) else "idle"


def _check_no_locks(system, cluster: Cluster) -> None:
    """With the servers still up and idle: every complaint row can be locked at once, and no server
    session sits in an open transaction or waits for a lock."""
    with system.db.engine.connect() as conn:
        conn.execute(text("SET lock_timeout = '2s'"))
        total = conn.scalar(select(func.count()).select_from(Complaint))
        locked = conn.scalar(select(func.count()).select_from(
            select(Complaint.id).with_for_update(nowait=True).subquery()))
        assert locked == total, f"{total - locked} complaint row(s) are locked"
        conn.rollback()
        stuck = conn.execute(text(
            "SELECT application_name, state, query FROM pg_stat_activity WHERE application_name LIKE :prefix "
            "AND (state LIKE 'idle in transaction%' OR wait_event_type = 'Lock') "
            "AND state_change < now() - interval '5 seconds'"), {"prefix": cluster.application_name + "%"}).all()
        assert not stuck, f"server sessions stuck in a transaction: {stuck}"


def _wait_sessions_gone(system, cluster: Cluster, limit: float = 20) -> None:
    """Once the processes are gone, so are their database sessions (a killed one holds nothing)."""
    query = text("SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE :prefix")
    deadline = time.monotonic() + limit
    while True:
        with system.db.engine.connect() as conn:
            left = conn.scalar(query, {"prefix": cluster.application_name + "%"})
        if not left:
            return
        assert time.monotonic() < deadline, f"{left} database session(s) outlived their process"
        time.sleep(0.5)


def _check_acknowledged(system, ledger: Ledger, recorded_before: frozenset[int] = frozenset()) -> None:
    """Each acknowledged creation exists exactly once; each acknowledged completion is stored with its audit
    event; nothing was stored that no client was told about (besides the complaints `recorded_before`)."""
    with UnitOfWork(system.db, write=False) as uow:
        session = uow.session
        complaint_ids = set(session.scalars(select(Complaint.id))) - recorded_before
        users = dict(session.execute(select(User.username, User.id)).all())
        records = {(r.user_id, r.key): r for r in session.scalars(
            select(IdempotencyRecord).where(IdempotencyRecord.scope == CREATE_SCOPE))}
        completed = set(session.scalars(select(WorkTask.id).where(WorkTask.status == "completed")))
        completion_events = Counter(session.scalars(select(AuditEvent.task_id).where(
            AuditEvent.kind == "task_completed")))
    told = {complaint_id for complaint_id, _user in ledger.created.values()}
    assert len(told) == len(ledger.created), "two keys were answered with the same complaint"
    assert complaint_ids == told, (f"stored but never acknowledged: {sorted(complaint_ids - told)}; "
                                   f"acknowledged but missing: {sorted(told - complaint_ids)}")
    for key, (complaint_id, username) in ledger.created.items():
        record = records.pop((users[username], key), None)
        assert record is not None, f"no idempotency record for {key}"
        assert record.result["result"]["complaint_id"] == complaint_id
    assert not records, f"idempotency records of unacknowledged requests: {list(records)}"
    reported = ledger.acknowledged | ledger.confirmed
    assert reported <= completed, f"acknowledged but not stored: {sorted(reported - completed)}"
    assert completed <= reported, f"stored but never acknowledged: {sorted(completed - reported)}"
    assert all(completion_events[task_id] == 1 for task_id in completed)
    assert sum(completion_events.values()) == len(completed)


def _check_audit_matches_state(system, clock_now: datetime) -> Counter:
    """Task table, timer table, penalty ledger and audit trail agree with each other and with every stored
    workflow; no timer fired twice or was lost. Returns the timers by status and kind."""
    with UnitOfWork(system.db, write=False) as uow:
        session = uow.session
        complaints = list(session.scalars(select(Complaint)))
        tasks = list(session.scalars(select(WorkTask)))
        timers = list(session.scalars(select(Timer)))
        penalties = Counter(session.scalars(select(Penalty.timer_id)))
        events = session.execute(select(AuditEvent.kind, AuditEvent.complaint_id, AuditEvent.task_id)
                                 .where(AuditEvent.complaint_id.is_not(None))).all()
        ready: dict[int, set[str]] = {}
        waiting: dict[int, set[str]] = {}
        for complaint in complaints:
            version = load_version(session, complaint.version_id)
            workflow = store.load_state(complaint.state, version.spec, version.subprocess_specs,
                                        runtime.script_engine())
            ready[complaint.id] = {str(t.id) for t in runtime.ready_user_tasks(workflow)}
            # A limit that does not apply waits for `no_deadline()` and has no row.
            waiting[complaint.id] = {t.task_id for t in runtime.waiting_timers(workflow)
                                     if not is_no_deadline(t.due_at)}
    by_task = Counter((kind, task_id) for kind, _complaint, task_id in events)
    by_complaint = Counter((kind, complaint_id) for kind, complaint_id, _task in events)
    assert {task_id for _kind, _c, task_id in events if task_id} <= {t.id for t in tasks}, "events of no task"

    for complaint in complaints:
        assert by_complaint[("complaint_started", complaint.id)] == 1, complaint.id
        assert by_complaint[("complaint_closed", complaint.id)] == (complaint.status == "closed"), complaint.id
        open_rows = {t.id for t in tasks if t.complaint_id == complaint.id and t.status == "open"}
        assert open_rows == ready[complaint.id], f"complaint {complaint.id}: task table ≠ workflow"
        waiting_rows = {t.id for t in timers if t.complaint_id == complaint.id and t.status == "waiting"}
        assert waiting_rows == waiting[complaint.id], f"complaint {complaint.id}: timer table ≠ workflow"
    for task in tasks:
        assert by_task[("task_opened", task.id)] == 1, task.id
        assert by_task[("task_completed", task.id)] == (task.status == "completed"), task.id
        assert by_task[("task_cancelled", task.id)] == (task.status == "cancelled"), task.id
        assert by_task[("task_escalated", task.id)] == (task.escalated_to is not None), task.id

    fired = [t for t in timers if t.status == "fired"]
    # A task may carry two limits of one kind (analyse_and_propose: the first phone contact and the agreement,
    # docs/data-dictionary.md), so "fired twice" is one boundary event of one task fired twice, not two
    # deadlines of one task; each fired deadline or warning still has exactly one effect on its task.
    fired_per_element = Counter((t.work_task_id, t.name) for t in fired)
    fired_deadlines = Counter(t.work_task_id for t in fired if t.kind == "deadline")
    fired_warnings = Counter(t.work_task_id for t in fired if t.kind == "warning")
    assert set(penalties) == {t.id for t in fired if t.kind == "deadline"}, "penalties ≠ breached deadlines"
    assert max(penalties.values(), default=0) <= 1, "a deadline was penalised twice"
    twice = [key for key, n in fired_per_element.items() if n > 1]
    assert not twice, f"timers fired twice (task, element): {twice}"
    for task in tasks:  # each firing has its one effect, never two
        assert by_task[("deadline_breached", task.id)] == fired_deadlines[task.id], task.id
        assert by_task[("deadline_warning", task.id)] == fired_warnings[task.id], task.id
    lost = [t.id for t in timers if t.status == "waiting" and t.due_at <= clock_now]
    assert not lost, f"due timers never fired: {lost}"
    # The worker counts each attempt before it fires (engine/complaints/timers.py), so a fired timer has
    # attempts ≥ 1, and a kill mid-firing leaves its note (CRASHED) on a timer that a later attempt fires
    # (which clears it) or that the staff's completion cancels. A failure is any other note, or an incident.
    crashed = {n: timers_module.CRASHED.format(n=n, max=timers_module.MAX_ATTEMPTS)
               for n in range(1, timers_module.MAX_ATTEMPTS + 1)}
    failed = [(t.id, t.status, t.last_error) for t in timers
              if t.status == "incident" or (t.last_error and t.last_error != crashed.get(t.attempts))]
    assert not failed, f"timer firings failed: {failed}"
    assert not [t.id for t in fired if t.last_error], "a fired timer kept its attempt's note"
    assert not any(kind == "timer_incident" for kind, _c, _t in events)
    return Counter(f"timers {t.status} ({t.kind})" for t in timers) + Counter(
        f"timers fired at attempt {t.attempts}" for t in fired)


def _report(title: str, kills: Counter, ledger: Ledger, timers: Counter, fired_under_load: int,
            total_fired: int, started: float, backlog: int = 0) -> None:
    figures = {
        **{f"kills: {kind}": n for kind, n in sorted(kills.items())},
        **({"complaints recorded before the load (timer backlog)": backlog} if backlog else {}),
        "complaints acknowledged": len(ledger.created),
        "completions acknowledged (200)": len(ledger.acknowledged),
        "completions confirmed by reading again (answer lost)": len(ledger.confirmed),
        **dict(sorted(ledger.counts.items())),
        "timers fired under load": fired_under_load,
        "timers fired after the load (drain)": total_fired - fired_under_load,
        **dict(sorted(timers.items())),
        "seconds": round(time.monotonic() - started, 1),
    }
    print(f"\n{title}:\n" + "\n".join(f"  {name}: {value}" for name, value in figures.items()))


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)")
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_kill_nine_web_and_timer_workers_100_times_under_load(system, cluster):
    started = time.monotonic()
    tokens = _tokens(system)
    backlog = set(start_many(system, BACKLOG))
    worker_now = datetime.now(UTC) + WORKER_CLOCK_AHEAD
    cluster.start_web(workers=WEB_WORKERS, threads=1, timer_thread=False)
    for _ in range(TIMER_WORKERS):
        cluster.start_timer_worker(worker_now)
    rng = random.Random(20261123)
    kills: Counter = Counter()
    found: Counter = Counter()  # what each killed timer worker was doing, sampled just before the kill

    def kill() -> None:
        while kills["web worker"] + kills["timer worker"] < KILLS:
            time.sleep(rng.uniform(*KILL_GAP))
            cluster.check_alive()
            if rng.random() < 0.5:
                workers = cluster.web_workers()
                if workers:  # else all of them are being replaced: the next moment will do
                    os.kill(rng.choice(workers), signal.SIGKILL)
                    kills["web worker"] += 1
                continue
            states = {proc: _session_state(system, cluster.session_name(proc)) for proc in cluster.timer_workers}
            # One that has started: killing a process still importing its modules proves nothing.
            victim = rng.choice([p for p, state in states.items() if state != "starting"] or list(states))
            found[states[victim]] += 1
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            cluster.timer_workers.remove(victim)
            cluster.start_timer_worker(worker_now)
            kills["timer worker"] += 1

    ledger = _under_load(cluster, tokens, kill)
    fired_under_load = _fired(system)
    # A timer whose firing a kill interrupted again (its attempts counted before firing) waits out its backoff
    # (engine/complaints/timers.py) — on the workers' clock, which COMPLAINTS_NOW freezes at worker_now, so
    # it would never come due. Like an operator's restart some time later, the drain's workers run later.
    backing_off = _scalar(system, select(func.count()).select_from(Timer).where(
        Timer.status == "waiting", Timer.due_at <= worker_now, Timer.next_attempt_at > worker_now))
    drain_now = worker_now + DRAIN_CLOCK_STEP
    cluster.replace_timer_workers(drain_now)
    _drain(system, cluster, drain_now)
    cluster.check_alive()
    _check_no_locks(system, cluster)
    cluster.stop()
    _wait_sessions_gone(system, cluster)
    assert not cluster.tracebacks(), f"exceptions in the server logs: {cluster.tracebacks()}"

    _check_acknowledged(system, ledger, frozenset(backlog))
    timers = _check_audit_matches_state(system, drain_now)
    timers["timers in backoff after killed attempts when the load ended"] = backing_off
    kills.update({f"timer worker, found just before: {state}": n for state, n in found.items()})
    _report("kill -9 under load, PostgreSQL", kills, ledger, timers, fired_under_load, _fired(system), started,
            len(backlog))


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_kill_nine_the_embedded_server_20_times_under_load(system, cluster):
    started = time.monotonic()
    tokens = _tokens(system)
    lives = [datetime.now(UTC) + n * CLOCK_STEP for n in range(RESTARTS + 1)]
    cluster.start_web(workers=1, threads=DRIVERS, timer_thread=True, now=lives[0])
    rng = random.Random(20261124)
    kills: Counter = Counter()

    def kill() -> None:
        for now in lives[1:]:
            time.sleep(rng.uniform(*LIFE))
            cluster.check_alive()
            cluster.kill_server()
            kills["complaints serve (whole process group)"] += 1
            cluster.start_web(workers=1, threads=DRIVERS, timer_thread=True, now=now)

    ledger = _under_load(cluster, tokens, kill)
    fired_under_load = _fired(system)
    _drain(system, cluster, lives[-1])
    cluster.check_alive()
    cluster.stop()
    with system.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    assert not cluster.tracebacks(), f"exceptions in the server logs: {cluster.tracebacks()}"

    _check_acknowledged(system, ledger)
    timers = _check_audit_matches_state(system, lives[-1])
    _report("kill -9 under load, SQLite", kills, ledger, timers, fired_under_load, _fired(system), started)
