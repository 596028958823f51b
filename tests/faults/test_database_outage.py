"""The database goes away for a while: requests fail cleanly with 503, nothing is half-written, and
service resumes by itself. PostgreSQL is reached through a TCP proxy on loopback that the test cuts."""
from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from engine.db import UnitOfWork, open_database
from engine.models import AuditEvent, Complaint
from engine.people import tokens as api_tokens
from tests.lifecycle import INTAKE
from web import create_app

pytestmark = [pytest.mark.faults,
              pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                 reason="needs PostgreSQL (TEST_DATABASE_URL); SQLite cannot become unreachable")]

#: Requests made while the database is away, and the pause between two of them: every one fails cleanly, none
#: waits for a connection the pool lost, none is half-written.
OUTAGE_REQUESTS = 10
OUTAGE_PAUSE = 0.2


class CuttableProxy:
    """Forwards loopback connections to the database; `cut()` drops them all and refuses new ones."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = threading.Event()
        self.up.set()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up.clear()
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.sockets.clear()

    def restore(self):
        self.up.set()

    def close(self):
        self.listener.close()


@pytest.fixture
def outage(system, database_url):
    url = make_url(database_url)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = open_database(proxied)
    app = create_app(system.settings, db)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    yield app, proxy, system
    proxy.close()
    db.dispose()


def _login(client, user="agent1"):
    response = client.post("/login", data={"username": user, "password": "demo-pass-2026"})
    assert response.status_code in (302, 303)


def _counts(system):
    with UnitOfWork(system.db, write=False) as uow:
        return (uow.session.scalar(select(func.count()).select_from(Complaint)),
                uow.session.scalar(select(func.count()).select_from(AuditEvent)))


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_outage_gives_503_changes_nothing_and_heals(outage):
    app, proxy, system = outage
    client = app.test_client()
    _login(client)
    assert client.get("/tasks/mine").status_code == 200
    with UnitOfWork(system.db) as uow:
        _, token = api_tokens.create_token(uow, system.actor("agent1"), "agent1")
    before = _counts(system)

    proxy.cut()
    page = client.get("/tasks/mine")
    assert page.status_code == 503 and page.headers["Retry-After"]
    assert "数据库" in page.get_data(as_text=True)
    posted = client.post("/complaints/new", data=INTAKE)
    assert posted.status_code == 503
    api = client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 503 and api.content_type.startswith("application/problem+json")
    for _ in range(OUTAGE_REQUESTS):
        assert client.get("/tasks/queue").status_code == 503
        time.sleep(OUTAGE_PAUSE)
    assert _counts(system) == before, "nothing may be half-written during the outage"

    proxy.restore()
    assert client.get("/tasks/mine").status_code == 200
    created = client.post("/complaints/new", data=INTAKE)
    assert created.status_code in (302, 303)
    assert _counts(system)[0] == before[0] + 1
