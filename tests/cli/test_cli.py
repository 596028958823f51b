"""The `complaints` command as a user runs it: real processes, real database, exit codes and JSON.

The commands are forks of a process that has imported their code (`tests/workers/prestarted.py`: milliseconds of
CPU instead of 0.7 s for a new interpreter; the command's code, arguments, environment, standard input, output
and exit status are its own). The console script itself, as installed, runs in the tests of `validate` and of
the clock override."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine import clock
from engine.config import PROJECT_ROOT
from engine.db import UnitOfWork, open_database
from engine.people import deputies
from engine.people.users import actor_by_username
from tests.lifecycle import ANSWERS, INTAKE
from tests.workers import prestarted

CLI = str(Path(sys.executable).parent / "complaints")
NOW = "2026-11-23T09:00:00+00:00"

pytestmark = pytest.mark.slow  # every test runs the command as a subprocess


def _command(database_url: str, instance: Path, script: bool = False):
    """`complaints …` on `database_url` at NOW: arguments, stdin (text, or an object sent as JSON) and any
    environment variables to change; returns the finished process. A fork of the prestarted process, or with
    `script` the installed console script in a new interpreter."""
    env = dict(os.environ, DATABASE_URL=database_url, COMPLAINTS_INSTANCE=str(instance),
               COMPLAINTS_ALLOW_CLOCK_OVERRIDE="1", COMPLAINTS_NOW=NOW)
    calls = itertools.count()

    def call(*args, stdin: object = "", **overrides) -> subprocess.CompletedProcess:
        text = stdin if isinstance(stdin, str) else json.dumps(stdin)
        if script:
            return subprocess.run([CLI, *args], input=text, capture_output=True, text=True, timeout=120,
                                  env=dict(env, **overrides))
        files = instance / "calls" / str(next(calls))
        files.mkdir(parents=True)
        (files / "stdin").write_text(text)
        code, stdout = prestarted.run(list(args), dict(env, **overrides), files / "stdout", stdin=files / "stdin",
                                      errors=files / "stderr")
        return subprocess.CompletedProcess([CLI, *args], code, stdout, (files / "stderr").read_text())

    return call


@pytest.fixture
def run(database_url, tmp_path):
    """The command on a copy of the test session's template, which holds what `complaints init --demo` makes
    at NOW (schema, workflows/ deployed, the demo users): a process fewer per test (tests/conftest.py)."""
    return _command(database_url, tmp_path)


@pytest.fixture
def run_script(database_url, tmp_path):
    """`run` by the installed console script, in a new interpreter."""
    return _command(database_url, tmp_path, script=True)


@pytest.fixture
def run_after_init(empty_database_url, tmp_path):
    """The command on an empty database that `complaints init --demo` has set up, for the tests of init."""
    call = _command(empty_database_url, tmp_path)
    assert call("init", "--demo").returncode == 0
    return call


def test_a_complaint_from_the_command_line(run):
    started = run("start", "--user", "agent1", "--json", stdin=INTAKE)
    assert started.returncode == 0, started.stderr
    complaint_id = json.loads(started.stdout)["complaint_id"]

    listed = json.loads(run("tasks", "--user", "agent1", "--scope", "mine", "--json").stdout)
    [task] = listed["items"]
    assert (task["name"], task["assignee"], task["due_at"]) == ("judge_validity", "agent1", "2026-11-23T09:30:00+00:00")

    wrong_role = run("complete", task["id"], "--user", "gm", stdin=ANSWERS["judge_validity"])
    assert wrong_role.returncode == 4 and "role" in wrong_role.stderr
    invalid = run("complete", task["id"], "--user", "agent1", stdin={"valid": "maybe"})
    assert invalid.returncode == 2 and "valid:" in invalid.stderr and "validity_reason:" in invalid.stderr
    not_json = run("complete", task["id"], "--user", "agent1", stdin="{valid: yes")
    assert not_json.returncode == 2 and "not JSON" in not_json.stderr
    stale = run("complete", task["id"], "--user", "agent1", "--version", "1", stdin=ANSWERS["judge_validity"])
    assert stale.returncode == 3
    done = run("complete", task["id"], "--user", "agent1", "--json", stdin=ANSWERS["judge_validity"])
    assert done.returncode == 0, done.stderr
    assert [t["task"] for t in json.loads(done.stdout)["open_tasks"]] == ["hand_over"]
    again = run("complete", task["id"], "--user", "agent1", stdin=ANSWERS["judge_validity"])
    assert again.returncode == 3 and "already completed" in again.stderr

    later = (datetime.fromisoformat(NOW) + timedelta(minutes=11)).isoformat()
    assert run("worker", "--once", COMPLAINTS_NOW=later).returncode == 0
    shown = json.loads(run("show", str(complaint_id), "--json").stdout)
    assert shown["status"] == "open" and shown["variables"]["valid"] is True
    [open_task] = shown["open_tasks"]
    assert open_task["task"] == "hand_over" and open_task["role"] == "agent"
    assert open_task["form"]["schema"]["properties"]["department"]["enum"][0] == "logistics"
    assert open_task["escalated_to"] == "cs_manager"
    assert shown["breaches"][0] | {"recorded_at": None} == {
        "task": "hand_over", "deadline": "2026-11-23T09:10:00+00:00", "person": "agent1", "role": "agent",
        "department": None, "level": "dissatisfied", "amount": 20, "recorded_at": None,
        "kind": "timeout", "reason": None, "decided_by": None}  # a timer's penalty: no one decided it, no reason given
    assert [e["kind"] for e in shown["audit"]][:3] == ["complaint_started", "task_opened", "task_completed"]


def test_a_deputy_works_the_department_heads_tasks_from_the_command_line(run, database_url):
    started = json.loads(run("start", "--user", "agent1", "--json", stdin=INTAKE).stdout)
    for name in ("judge_validity", "hand_over"):
        [task] = json.loads(run("tasks", "--user", "agent1", "--scope", "mine", "--json").stdout)["items"]
        assert task["name"] == name
        assert run("complete", task["id"], "--user", "agent1", stdin=ANSWERS[name]).returncode == 0
    [analysis] = json.loads(run("show", str(started["complaint_id"]), "--json").stdout)["open_tasks"]
    assert (analysis["task"], analysis["department"]) == ("analyse_and_propose", "logistics")
    answers = ANSWERS["analyse_and_propose"]
    refused = run("complete", analysis["id"], "--user", "head_quality", stdin=answers)
    assert refused.returncode == 4  # another department's head, not (yet) a deputy
    # The logistics head appoints the quality head as deputy (责任代理人) over the command line's now.
    db = open_database(database_url)
    clock.set_now(datetime.fromisoformat(NOW))
    try:
        with UnitOfWork(db) as uow:
            head = actor_by_username(uow, "head_logistics")
            now = clock.now()
            deputies.appoint(uow, head, "head_quality", now - timedelta(hours=1), now + timedelta(days=3))
    finally:
        clock.set_now(None)
        db.dispose()
    pool = json.loads(run("tasks", "--user", "head_quality", "--scope", "queue", "--json").stdout)["items"]
    assert [t["id"] for t in pool] == [analysis["id"]]
    done = run("complete", analysis["id"], "--user", "head_quality", "--json", stdin=answers)
    assert done.returncode == 0, done.stderr
    assert [t["task"] for t in json.loads(done.stdout)["open_tasks"]] == ["approve_solution"]
    # After the appointment's end the deputy acts for nobody again.
    later = (datetime.fromisoformat(NOW) + timedelta(days=4)).isoformat()
    assert run("tasks", "--user", "head_quality", "--scope", "queue", "--json",
               COMPLAINTS_NOW=later).stdout.count('"id"') == 0


def test_clock_override_needs_to_be_allowed(run_script):
    started = run_script("start", "--user", "agent1", "--json", stdin=INTAKE, COMPLAINTS_ALLOW_CLOCK_OVERRIDE="0")
    due = json.loads(started.stdout)["open_tasks"][0]["due_at"]
    assert not due.startswith("2026-11-23T09:30"), "COMPLAINTS_NOW must be ignored without the allow flag"


def test_users_and_roles(run):
    added = run("users", "add", "wang", "--role", "department_head", "--department", "quality",
                "--password-stdin", stdin="a-long-password\n")
    assert added.returncode == 0, added.stderr
    assert run("users", "add", "wang", "--role", "agent", "--password-stdin", stdin="a-long-password\n").returncode == 3
    short = run("users", "add", "li", "--role", "agent", "--password-stdin", stdin="short\n")
    unknown = run("users", "add", "zhao", "--role", "agent", "--department", "legal", "--password-stdin",
                  stdin="a-long-password\n")  # departments are the table's: none named legal yet
    assert unknown.returncode == 2 and "department" in unknown.stderr
    assert short.returncode == 2 and "password" in short.stderr
    recorded = run("start", "--user", "wang", stdin=INTAKE)  # every desk role records complaints (RECORDING_ROLES)
    assert recorded.returncode == 0, recorded.stderr
    forbidden = run("start", "--user", "owner", stdin=INTAKE)  # the model's owner does not work complaints
    assert forbidden.returncode == 4 and "role" in forbidden.stderr
    assert run("users", "password", "wang", "--password-stdin", stdin="another-long-one\n").returncode == 0
    assert run("users", "password", "wang", "--password-stdin", stdin="short\n").returncode == 2
    assert run("users", "password", "nobody", "--password-stdin", stdin="another-long-one\n").returncode == 2
    assert run("users", "deactivate", "wang").returncode == 0
    gone = run("tokens", "create", "--user", "wang")  # a deactivated user acts nowhere
    assert gone.returncode == 2 and "no active user" in gone.stderr
    assert run("users", "activate", "wang").returncode == 0
    assert run("tokens", "create", "--user", "wang").returncode == 0


def test_validate_names_file_line_and_element(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(PROJECT_ROOT / "workflows", models)
    assert subprocess.run([CLI, "validate", str(models)], capture_output=True).returncode == 0
    bpmn = models / "complaint_lifecycle.bpmn"
    shipped = bpmn.read_text(encoding="utf-8")
    first_line = "<bpmn:script>round = round + 1\n"  # next_round's script; the sandbox refuses imports
    assert shipped.count(first_line) == 1, "the test no longer finds next_round's script in the shipped model"
    bpmn.write_text(shipped.replace(first_line, "<bpmn:script>import os\n"), encoding="utf-8")
    result = subprocess.run([CLI, "validate", str(bpmn)], capture_output=True, text=True)
    assert result.returncode == 2
    assert f"{bpmn}:" in result.stderr and "[next_round]" in result.stderr and "script" in result.stderr


def test_withdraw_a_complaint_from_the_command_line(run):
    complaint_id = str(json.loads(run("start", "--user", "agent1", "--json", stdin=INTAKE).stdout)["complaint_id"])
    wrong_role = run("withdraw", complaint_id, "--user", "gm", "--reason", "refunded")
    assert wrong_role.returncode == 4 and "withdrawals" in wrong_role.stderr
    no_note = run("withdraw", complaint_id, "--user", "agent1", "--reason", "other")
    assert no_note.returncode == 2 and "note:" in no_note.stderr
    unknown = run("withdraw", complaint_id, "--user", "agent1", "--reason", "changed_mind")
    assert unknown.returncode == 2 and "changed_mind" in unknown.stderr
    done = run("withdraw", complaint_id, "--user", "agent1", "--reason", "other", "--note", "顾客电话撤回", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) | {"reference": None} == {
        "complaint_id": int(complaint_id), "reference": None, "status": "closed", "outcome": "end_withdrawn"}
    shown = json.loads(run("show", complaint_id, "--json").stdout)
    assert shown["open_tasks"] == [] and shown["variables"]["withdrawal"]["note"] == "顾客电话撤回"
    again = run("withdraw", complaint_id, "--user", "agent1", "--reason", "refunded", "--json")
    assert again.returncode == 3 and json.loads(again.stderr)["code"] == "complaint_closed"


def test_a_deployed_version_survives_restarts_and_a_changed_folder_is_deployed_once(run_after_init, tmp_path):
    """Real restarts: `complaints init` in new processes leaves the version `complaints deploy` made current,
    saying so in one line; a changed workflows/ folder is deployed by the next start-up, once."""
    run = run_after_init
    renamed = ('name="回访顾客 Follow up with the customer"', 'name="回访顾客（新版） Follow up with the customer"')
    models = tmp_path / "models"
    shutil.copytree(PROJECT_ROOT / "workflows", models)
    bpmn = models / "complaint_lifecycle.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace(*renamed), encoding="utf-8")
    deployed = run("deploy", str(models), "--user", "owner", "--json")
    assert deployed.returncode == 0, deployed.stderr
    version = json.loads(deployed.stdout)["version"]
    for _restart in range(2):
        restarted = run("init")
        assert restarted.returncode == 0, restarted.stderr
        assert (f"models: workflows/ unchanged since its last start-up deployment; complaint_lifecycle stays on "
                f"version {version} (cli, by owner)") in restarted.stdout
    release = tmp_path / "release"
    shutil.copytree(models, release)
    bpmn = release / "complaint_lifecycle.bpmn"
    bpmn.write_text(bpmn.read_text(encoding="utf-8").replace(renamed[1], 'name="回访顾客（发布） Follow up"'),
                    encoding="utf-8")
    first = run("init", COMPLAINTS_WORKFLOWS=str(release))
    assert first.returncode == 0 and "models: workflows/ deployed as version" in first.stdout, first.stderr
    again = run("init", COMPLAINTS_WORKFLOWS=str(release))
    assert again.returncode == 0 and "unchanged since its last start-up deployment" in again.stdout
    assert f"stays on version {version} " not in again.stdout
