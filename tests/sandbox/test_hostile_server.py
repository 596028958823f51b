"""The hostile-script fault suite: a model whose intake script carries every payload of issue 13, deployed on a live
`complaints serve` (gunicorn, one worker, four threads, the timer thread), and one in a decision table's output
entry. For each payload: the request ends within the sandbox's limit with a clear 422 naming the element, a request
on another complaint made while it runs and the next complaint answer within a second of the same request measured
in this test before (not an absolute second, which a loaded CI machine misses: waiting on a lock or a stuck worker
costs more), and afterwards the web worker is the same process, serving, with its sandbox workers alive. Then
hostile models (issue 11): versions stored past deploy's refusals whose start loops through engine steps, calls
its own process or stops at a plain task; each start ends with a 422 naming the element, and the next complaint
on the good model starts within 1 s of a good start measured just before.
Run with `-s` to see the figures.

Marked `faults` (a real server in a subprocess): `make test` runs it, `make test-fast` does not."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from html import escape
from pathlib import Path

import pytest
import requests
from sqlalchemy import update

from engine.config import PROJECT_ROOT
from engine.db import UnitOfWork
from engine.models import ProcessVersion
from engine.people import tokens as api_tokens
from engine.workflow import runtime
from engine.workflow.deploy import current_version
from engine.workflow.sandbox import isolation
from tests.lifecycle import INTAKE
from tests.modelling.hostile_models import HOSTILE, store_past_the_checks
from tests.serving import free_port, wait_until_up

pytestmark = pytest.mark.faults

CLI = str(Path(sys.executable).parent / "complaints")
#: Every payload fires only for its own complaint description, as a hostile model would hide it from its tests.
PAYLOAD_SCRIPT = """
if description.startswith("HOSTILE:"):
    payload = description[8:]
    if payload == "round":
        x = round(1, -10**8)
    elif payload == "pow":
        x = pow(3, 10 ** 100000, 10 ** 100000 + 7)
    elif payload == "floordiv":
        n = int("f" * 100000, 16)
        x = n // 3
    elif payload == "format":
        t = "%(" * 200000
        x = t % {}
    elif payload == "hash":
        t = ()
        for i in range(99000): t = (t,)
        x = {t}
    elif payload == "split":
        s = "a " * 500000
        parts = []
        for i in range(100):
            parts.append(s.split())
    elif payload == "loop":
        while True:
            pass
    elif payload == "slow":
        numbers = list(range(20000))
        for i in range(99999):
            largest = max(numbers)
"""
PAYLOADS = ["round", "pow", "floordiv", "format", "hash", "split", "loop", "slow", "expression"]
#: The same kind of payload in an expression: a decision table's output entry for the intake's level.
DMN_OUTPUT = ("<text>2</text>", '<text>round(1, -10**8) if description == "HOSTILE:expression" else 2</text>')
#: The intake form's order number gets a pattern that backtracks catastrophically in Python's `re`.
EVIL_PATTERN = "^([A-Z0-9]+-?)+$"
#: A request whose script is stopped ends within this (the sandbox's wall-clock limit, plus the request itself).
LIMIT = isolation.WALL_SECONDS + 2


def _hostile_workflows(target: Path) -> Path:
    shutil.copytree(PROJECT_ROOT / "workflows", target)
    bpmn = target / "complaint_lifecycle.bpmn"
    text = bpmn.read_text()
    anchor = "    trade_completed_on = None</spiffworkflow:preScript>"
    assert text.count(anchor) == 1, "the intake pre-script moved: update this test"
    bpmn.write_text(text.replace(anchor, "    trade_completed_on = None\n" + escape(PAYLOAD_SCRIPT, quote=False)
                                 + "</spiffworkflow:preScript>"))
    dmn = target / "policy.dmn"
    text = dmn.read_text()
    assert text.count(DMN_OUTPUT[0]) >= 1, "the policy table's first output moved: update this test"
    dmn.write_text(text.replace(*DMN_OUTPUT, 1))
    schema = target / "forms" / "intake.schema.json"
    text = schema.read_text()
    anchor = '"order_id": {'
    assert text.count(anchor) == 1, "the intake form's order_id moved: update this test"
    schema.write_text(text.replace(anchor, f'"order_id": {{"pattern": "{EVIL_PATTERN}", '))
    return target


def _children(pid: int) -> dict[int, str]:
    """Child processes of `pid` with their state letter (Z: a zombie nobody reaped)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid:
                found[int(entry)] = state
    return found


@pytest.fixture
def server(system, database_url, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("COMPLAINTS_NOW", "COMPLAINTS_ALLOW_CLOCK_OVERRIDE")}
    env.update(DATABASE_URL=database_url, SECRET_KEY="hostile-scripts", COMPLAINTS_INSTANCE=str(tmp_path),
               XDG_RUNTIME_DIR=str(tmp_path), COMPLAINTS_WORKFLOWS=str(_hostile_workflows(tmp_path / "workflows")))
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        arbiter = subprocess.Popen([CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                                    "--threads", "4"], env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(arbiter, base + "/api/v1/", log)
        yield arbiter, base, log
    finally:
        if arbiter.poll() is None:
            os.killpg(arbiter.pid, signal.SIGKILL)
        arbiter.wait()


def _create(base: str, token: str, description: str, order_id: str = "ORD-1001") -> requests.Response:
    body = dict(INTAKE, description=description, order_id=order_id)
    return requests.post(base + "/api/v1/complaints", json=body, timeout=60,
                         headers={"Authorization": f"Bearer {token}"})


def _timed(call):
    began = time.monotonic()
    response = call()
    return response, time.monotonic() - began


def test_hostile_scripts_end_with_a_clear_error_and_the_server_keeps_serving(system, server):
    arbiter, base, log = server
    with UnitOfWork(system.db) as uow:
        token = api_tokens.create_token(uow, system.actor("agent1"), "agent1")[1]
    auth = {"Authorization": f"Bearer {token}"}
    other, seconds = _timed(lambda: _create(base, token, "外包装破损"))
    assert other.status_code == 201, other.text
    other_id = other.json()["complaint_id"]
    (web_worker,) = [pid for pid in _children(arbiter.pid)]

    def read_other() -> requests.Response:
        return requests.get(f"{base}/api/v1/complaints/{other_id}", headers=auth, timeout=30)

    def login_page() -> requests.Response:
        return requests.get(base + "/login", timeout=30)

    # What each request takes here and now, the slower of two: the bounds below are these plus 1 s, robust on a
    # loaded machine and still far below what waiting on a lock or a stuck worker costs.
    usual_read, usual_login = (max(_timed(call)[1], _timed(call)[1]) for call in (read_other, login_page))
    for payload in PAYLOADS:
        usual = _good_start(base, token)
        answers = {}

        def hostile(payload=payload):
            answers["hostile"] = _timed(lambda: _create(base, token, f"HOSTILE:{payload}"))

        running = threading.Thread(target=hostile)
        running.start()
        time.sleep(0.2)  # while the hostile request runs, another complaint and the login page answer
        read, read_seconds = _timed(read_other)
        login, login_seconds = _timed(login_page)
        running.join()
        response, seconds = answers["hostile"]
        assert response.status_code == 422, (payload, response.status_code, response.text[:500])
        assert "apply_policy" in response.text, (payload, response.text[:500])
        assert seconds < LIMIT, (payload, seconds)
        assert read.status_code == 200 and read_seconds <= usual_read + 1, (payload, read.status_code, read_seconds)
        assert login.status_code == 200 and login_seconds <= usual_login + 1, (payload, login_seconds)
        after_seconds = _still_serving(base, token, arbiter, web_worker, usual, payload)
        print(f"{payload:>9}: 422 in {seconds:.2f} s; other complaint {read_seconds:.2f} s, login "
              f"{login_seconds:.2f} s, next intake {after_seconds:.2f} s; "
              f"{response.json()['field_errors']['model'][0]['params']['detail']}")

    # catastrophic backtracking in the form's pattern: answered at once, as a field error
    refused, seconds = _timed(lambda: _create(base, token, "外包装破损", order_id="A" * 31 + "!"))
    assert refused.status_code == 422 and "order_id" in refused.text and seconds < 1.0, (refused.text, seconds)
    _hostile_models(system, base, token, arbiter, web_worker)
    assert arbiter.poll() is None
    assert "Traceback" not in log.read_text(errors="replace")


def _good_start(base: str, token: str) -> float:
    """Seconds a good complaint takes to start on the live server."""
    response, seconds = _timed(lambda: _create(base, token, "收到的商品有划痕"))
    assert response.status_code == 201, response.text
    return seconds


def _still_serving(base: str, token: str, arbiter: subprocess.Popen, web_worker: int, usual: float,
                   hostile: str) -> float:
    """After something hostile: the next good start is as quick as before (plus 1 s), the same web worker
    serves, its sandbox workers live and none is a zombie. Returns the good start's seconds."""
    after = _good_start(base, token)
    assert after <= usual + 1, (hostile, after, usual)
    assert list(_children(arbiter.pid)) == [web_worker], f"the web worker died on {hostile}"
    sandbox_workers = _children(web_worker)
    assert sandbox_workers and "Z" not in sandbox_workers.values(), (hostile, sandbox_workers)
    return after


def _hostile_models(system, base: str, token: str, arbiter: subprocess.Popen, web_worker: int) -> None:
    """Each hostile model made current straight in the database, its start answered, the good one put back."""
    with UnitOfWork(system.db, write=False) as uow:
        good = current_version(uow.session, "complaint_lifecycle").id
    for model, element in HOSTILE:
        usual = max(_good_start(base, token), _good_start(base, token))  # the good version is warm already
        with UnitOfWork(system.db) as uow:
            store_past_the_checks(uow.session, model, element)
            uow.commit()
        refused, seconds = _timed(lambda: _create(base, token, "外包装破损"))
        assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json", \
            (element, refused.status_code, refused.text[:500])
        assert element in refused.text and seconds < runtime.MAX_ENGINE_SECONDS + 5, (element, seconds)
        with UnitOfWork(system.db) as uow:  # the process owner makes the good version current again
            uow.session.execute(update(ProcessVersion).where(ProcessVersion.process_id == "complaint_lifecycle")
                                .values(is_current=ProcessVersion.id == good))
            uow.commit()
        after = _still_serving(base, token, arbiter, web_worker, usual, f"the model at {element}")
        print(f"model at {element:>11}: 422 in {seconds:.2f} s; next intake {after:.2f} s (good start {usual:.2f} s); "
              f"{refused.json()['field_errors']['model'][0]['params']['detail'][:80]}")
