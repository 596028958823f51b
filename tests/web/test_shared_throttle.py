"""Sign-in throttling counted in the application's database (web/db_limits.py, the default storage): every web
worker and process on one database shares the count, so N workers do not give a guesser N times the tries;
the count ends with its window, void rows are deleted, and two writers never both take the last try."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
from limits.storage import storage_from_string
from sqlalchemy import func, select

from engine.bootstrap import DEMO_PASSWORD
from engine.config import load_settings
from engine.db import open_database
from engine.models import RateLimit
from tests.serving import free_port, wait_until_up
from tests.web.conftest import make_app

CLI = str(Path(sys.executable).parent / "complaints")


def _sign_in(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def _rows(system) -> int:
    with system.db.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(RateLimit)).scalar_one()


def test_the_database_is_the_default_storage():
    assert load_settings({}).ratelimit_storage_uri == "database://"
    assert load_settings({"RATELIMIT_STORAGE_URI": "memory://"}).ratelimit_storage_uri == "memory://"


def test_two_apps_on_one_database_count_failures_together(system):
    """Two web workers, each with its own app and its own connection pool on one database: five failures
    spread over both, and the sixth try, right password or not, is refused in either, with Retry-After."""
    other_db = open_database(system.settings.database_url)
    try:
        first = make_app(system).test_client()
        second = make_app(replace(system, db=other_db)).test_client()
        for client in (first, second, first, second, first):
            assert _sign_in(client, "agent1", "wrong password").status_code == 200
        for client in (second, first):
            refused = _sign_in(client, "agent1", DEMO_PASSWORD)
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
        # Per account and address only: the same user from another address goes in, through either worker.
        assert _sign_in(second, "agent1", DEMO_PASSWORD, "10.0.0.2").status_code == 302
        assert _rows(system) >= 2  # the account-and-address key and the address key
    finally:
        other_db.dispose()


def test_the_count_ends_with_its_window_and_void_rows_are_deleted(system, monkeypatch):
    """A minute after the last failure the real user goes in (no reset needed), and the next write deletes
    the rows whose window is over."""
    client = make_app(system).test_client()
    for _ in range(5):
        _sign_in(client, "agent1", "wrong password")
    assert _sign_in(client, "agent1", DEMO_PASSWORD).status_code == 429
    rows = _rows(system)
    assert rows >= 2
    later = time.time() + 61
    monkeypatch.setattr("web.db_limits.time", SimpleNamespace(time=lambda: later))
    assert _sign_in(client, "agent1", DEMO_PASSWORD).status_code == 302
    # The address key (30 per 10 minutes) still runs; the account key's row is gone once a writer cleans.
    later += 11 * 60
    make_app(system).extensions["sign_in_limiter"].storage.acquire_entry("another-key", 5, 60)
    with system.db.engine.connect() as conn:
        keys = list(conn.execute(select(RateLimit.key)).scalars())
    assert keys == ["another-key"]


@pytest.mark.parametrize("amount", [1, 2])
def test_concurrent_tries_never_take_more_than_the_limit(system, amount):
    """Sixteen threads over two storages (two connection pools), all at once on one key with a limit of 5:
    exactly as many entries are granted as the limit holds."""
    dbs = [open_database(system.settings.database_url) for _ in range(2)]
    try:
        storages = [storage_from_string("database://", database=db) for db in dbs]
        granted: list[bool] = []
        start = threading.Barrier(16)

        def attempt(n: int) -> None:
            start.wait()
            granted.append(storages[n % 2].acquire_entry("LIMITER/race", 5, 60, amount))

        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert granted.count(True) == 5 // amount
        assert storages[0].get_moving_window("LIMITER/race", 5, 60)[1] == 5 // amount * amount
    finally:
        for db in dbs:
            db.dispose()


def test_a_fixed_window_counts_atomically_too(system):
    """The storage's counter (the `limits` fixed window) adds up across pools and starts again when it ends."""
    storage = storage_from_string("database://", database=system.db)
    assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
    assert storage.get("k") == 3 and storage.get_expiry("k") > time.time()
    storage.clear("k")
    assert storage.get("k") == 0
    assert storage.check()


def _start_server(database_url: str, folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("COMPLAINTS_NOW", "COMPLAINTS_ALLOW_CLOCK_OVERRIDE", "RATELIMIT_STORAGE_URI")}
    folder.mkdir()
    env.update(DATABASE_URL=database_url, SECRET_KEY="shared-throttle", COMPLAINTS_INSTANCE=str(folder),
               XDG_RUNTIME_DIR=str(folder))
    with open(folder / "serve.log", "wb") as out:
        process = subprocess.Popen([CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
                                    "--threads", "2", "--no-timer-worker"], env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}"


def _post_login(base: str, password: str) -> requests.Response:
    """A sign-in as a browser makes it: the page (session and CSRF token), then the form."""
    with requests.Session() as browser:
        page = browser.get(base + "/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return browser.post(base + "/login", data={"csrf_token": token, "username": "agent1", "password": password},
                            allow_redirects=False, timeout=10)


@pytest.mark.slow
def test_two_server_processes_share_the_count(system, database_url, tmp_path):
    """Two `complaints serve` processes on one database (as two hosts behind a balancer, or N gunicorn
    workers): five wrong passwords spread over both, then the right one is refused by either with 429."""
    servers = []
    try:
        for name in ("a", "b"):  # one after the other: each deploys workflows/ as it starts
            servers.append(_start_server(database_url, tmp_path / name))
            process, base = servers[-1]
            wait_until_up(process, base + "/login", tmp_path / name / "serve.log")
        bases = [base for _, base in servers]
        for n in range(5):
            assert _post_login(bases[n % 2], "wrong password").status_code == 200
        for base in bases:
            refused = _post_login(base, DEMO_PASSWORD)
            assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    finally:
        for process, _ in servers:
            if process.poll() is None:
                os.killpg(process.pid, 15)
            process.wait(timeout=30)
