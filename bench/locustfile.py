"""Staff at work, for locust (`bench/load.py` runs it): each simulated user signs in as one of the bench staff
(`bench.seed.bench_staff`) and, with a pause between actions, lists tasks, opens complaints, and works a task:
claims it from the queue, opens its form and submits it. Agents also record new complaints.

Request names (the rows of the report): "task list", "complaint page", "claim", "task form", "task submit",
"intake form", "intake submit" (and "sign in", made during the warm-up, whose figures are reset). A 409 on
"claim" (someone else took the task first) is the designed answer to a race, counted apart as
"claim (taken by another)" and not as an error; so is a 409 on "task submit" (the complaint changed since its form
was read: a timer fired on it or a colleague acted), counted as "task submit (changed meanwhile)".
"""
from __future__ import annotations

import itertools
import os
import random
import re

import gevent
from locust import HttpUser, between, events, task

from bench.seed import DEPARTMENTS, STAFF_PASSWORD, bench_staff
from tests.lifecycle import ANSWERS, INTAKE

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
VERSION = re.compile(r'name="_version" value="(\d+)"')
ROW = re.compile(r'<tr data-task="([a-z_]+)"[^>]*>.*?href="/complaints/(\d+)".*?href="/task/([0-9a-f-]{36})"(.*?)</tr>',
                 re.S)
THINK = float(os.environ.get("BENCH_THINK_SECONDS", "1.0"))
#: Figures start after this: every user has signed in (password hashing is slow on purpose) and warmed up.
WARMUP = float(os.environ.get("BENCH_WARMUP_SECONDS", "15"))

_people = itertools.cycle(bench_staff())


@events.test_start.add_listener
def _reset_after_warmup(environment, **_kwargs) -> None:
    gevent.spawn_later(WARMUP, environment.runner.stats.reset_all)


def _form_value(value) -> str:
    return {True: "true", False: "false"}.get(value, str(value)) if isinstance(value, bool) else str(value)


def answers_for(task_name: str) -> dict[str, str]:
    """What a user types into the task's form (the happy path's answers), as posted strings."""
    answers = dict(ANSWERS[task_name])
    if task_name == "hand_over":
        answers["department"] = random.choice(list(DEPARTMENTS.values()))
    return {name: _form_value(value) for name, value in answers.items()}


class Staff(HttpUser):
    """One member of staff; who it is comes round-robin from the bench staff list."""

    wait_time = between(THINK / 2, THINK * 1.5)

    def on_start(self) -> None:
        self.person = next(_people)
        page = self.client.get("/login", name="sign in")
        response = self.client.post("/login", name="sign in", allow_redirects=False, data={
            "csrf_token": CSRF.search(page.text).group(1), "username": self.person.username,
            "password": STAFF_PASSWORD})
        if response.status_code != 302:
            raise RuntimeError(f"{self.person.username} could not sign in ({response.status_code})")

    def _rows(self, scope: str) -> list[tuple[str, str, str, bool]]:
        """(task name, complaint id, task id, claimable) of the first page of a task list."""
        page = self.client.get(f"/tasks/{scope}", name="task list")
        if page.status_code != 200:  # counted as a failure by locust already
            return []
        self.csrf = CSRF.search(page.text).group(1)
        return [(name, complaint, task_id, "/claim" in rest)
                for name, complaint, task_id, rest in ROW.findall(page.text)]

    @task(5)
    def list_tasks(self) -> None:
        self._rows(random.choice(("mine", "queue", "queue", "due_soon")))

    @task(3)
    def open_complaint(self) -> None:
        rows = self._rows("queue")
        if rows:
            self.client.get(f"/complaints/{random.choice(rows)[1]}", name="complaint page")

    @task(3)
    def work_a_task(self) -> None:
        mine = [r for r in self._rows("mine") if r[0] in ANSWERS]
        if mine:
            name, _complaint, task_id, _claimable = random.choice(mine)
        else:
            queue = [r for r in self._rows("queue") if r[3] and r[0] in ANSWERS]
            if not queue:
                return
            name, _complaint, task_id, _claimable = random.choice(queue)
            with self.client.post(f"/tasks/{task_id}/claim", data={"csrf_token": self.csrf}, name="claim",
                                  allow_redirects=False, catch_response=True) as response:
                if response.status_code == 409:
                    response.request_meta["name"] = "claim (taken by another)"
                    response.success()
                    return
                if response.status_code != 302:
                    response.failure(f"claim answered {response.status_code}")
                    return
        form = self.client.get(f"/task/{task_id}", name="task form")
        version = VERSION.search(form.text)
        if form.status_code != 200 or version is None:
            return
        data = {"csrf_token": CSRF.search(form.text).group(1), "_version": version.group(1), **answers_for(name)}
        with self.client.post(f"/task/{task_id}", data=data, name="task submit", allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code == 409:  # a timer or a colleague changed the complaint since the form was read
                response.request_meta["name"] = "task submit (changed meanwhile)"
                response.success()
            elif response.status_code != 302:
                response.failure(f"submit of {name} answered {response.status_code}")

    @task(1)
    def record_a_complaint(self) -> None:
        if self.person.role != "agent":
            return
        page = self.client.get("/complaints/new", name="intake form")
        data = {"csrf_token": CSRF.search(page.text).group(1),
                **{k: _form_value(v) for k, v in INTAKE.items()},
                "category": random.choice(list(DEPARTMENTS))}
        with self.client.post("/complaints/new", data=data, name="intake submit", allow_redirects=False,
                              catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"intake answered {response.status_code}")
