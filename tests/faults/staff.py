"""The staff of the kill tests: threads working through the REST API while servers are killed, each repeating
what got no answer, and the ledger of what the servers told them, against which the database is checked."""
from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
from urllib3.exceptions import NewConnectionError

from engine.bootstrap import DEMO_USERS
from engine.complaints.idempotency import KEY_FIELD
from engine.db import UnitOfWork
from engine.people import tokens as api_tokens
from tests.lifecycle import ANSWERS, INTAKE

DRIVERS = 4
#: How long one operation may keep retrying (through kills and restarts) before the test calls it lost.
RETRY_LIMIT = 90
#: Seconds between two tries of an operation that got no answer.
RETRY_PAUSE = 0.1
ANSWER = dict(ANSWERS, progress_check={"customer_reached": True, "progress_note": "顾客确认正在处理"})
ROLE_USER = {"cs_manager": "cs_manager", "general_manager": "gm"}
#: The ledger's count of requests answered (by anything but a 503).
ANSWERS = "requests answered"


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
    #: Held to change any of the above; notified at each answer.
    lock: threading.Condition = field(default_factory=threading.Condition)

    def count(self, what: str) -> None:
        with self.lock:
            self.counts[what] += 1
            if what == ANSWERS:
                self.lock.notify_all()

    def answered(self) -> int:
        """How many requests the servers have answered (503s not counted)."""
        with self.lock:
            return self.counts[ANSWERS]

    def wait_for_answers(self, count: int) -> bool:
        """Wait until `count` requests in all have been answered; False after `RETRY_LIMIT` seconds without."""
        with self.lock:
            return self.lock.wait_for(lambda: self.counts[ANSWERS] >= count, RETRY_LIMIT)


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
        self.ledger.count("503 answers" if response.status_code == 503 else ANSWERS)
        return response

    @staticmethod
    def _pause(deadline: float, what: str) -> None:
        assert time.monotonic() < deadline, f"{what}: no answer for {RETRY_LIMIT} s"
        time.sleep(RETRY_PAUSE)

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


def tokens_of_the_demo_users(system) -> dict[str, str]:
    """An API token of each demo user, by username."""
    tokens = {}
    for demo in DEMO_USERS:
        with UnitOfWork(system.db) as uow:
            tokens[demo.username] = api_tokens.create_token(uow, system.actor(demo.username), demo.username)[1]
    return tokens


def under_load(api: str, tokens: dict[str, str], kill: Callable[[Ledger], None]) -> Ledger:
    """Run the drivers while `kill(ledger)` does its killing; then let them finish what they were doing."""
    ledger, stop = Ledger(), threading.Event()
    drivers = [Driver(n, api, tokens, ledger, stop) for n in range(DRIVERS)]
    for driver in drivers:
        driver.start()
    try:
        kill(ledger)
    finally:
        stop.set()
        for driver in drivers:
            driver.join(timeout=2 * RETRY_LIMIT)
    for driver in drivers:
        assert driver.error is None and not driver.is_alive(), f"{driver.name}: {driver.error!r}"
    return ledger
