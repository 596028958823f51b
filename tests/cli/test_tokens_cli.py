"""`complaints tokens`: create (printed once), list, revoke — and the token works on the API."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.api.conftest import problem

CLI = str(Path(sys.executable).parent / "complaints")

pytestmark = pytest.mark.slow  # runs the command as a subprocess


def test_tokens_from_the_command_line(system, client):
    env = dict(os.environ, DATABASE_URL=system.settings.database_url,
               COMPLAINTS_INSTANCE=str(system.settings.instance_dir))

    def run(*args):
        return subprocess.run([CLI, "tokens", *args], capture_output=True, text=True, timeout=120, env=env)

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
