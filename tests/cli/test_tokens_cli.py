"""`complaints tokens`: create (printed once), list, revoke — and the token works on the API."""
from __future__ import annotations

import itertools
import json
import os
import subprocess

import pytest

from tests.api.conftest import problem
from tests.workers import prestarted

pytestmark = pytest.mark.slow  # runs the command as a process of its own (a fork: tests/workers/prestarted.py)


def test_tokens_from_the_command_line(system, client, tmp_path):
    env = dict(os.environ, DATABASE_URL=system.settings.database_url,
               COMPLAINTS_INSTANCE=str(system.settings.instance_dir))
    calls = itertools.count()

    def run(*args):
        call = next(calls)
        output, errors = tmp_path / f"{call}.out", tmp_path / f"{call}.err"
        code, stdout = prestarted.run(["tokens", *args], env, output, errors=errors)
        return subprocess.CompletedProcess(["complaints", "tokens", *args], code, stdout, errors.read_text())

    created = run("create", "--user", "agent1", "--name", "script")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("cpt_")
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = json.loads(run("list", "--json").stdout)
    assert [(t["user"], t["name"], t["revoked_at"]) for t in listed] == [("agent1", "script", None)]
    assert token not in run("list").stdout
    assert run("revoke", str(listed[0]["id"])).returncode == 0
    problem(client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}), 401)
    assert run("create", "--user", "nobody").returncode == 2
    assert run("revoke", "999").returncode == 2
