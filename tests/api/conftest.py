"""The API on a real database: an app per test, and API tokens for the demo users."""
from __future__ import annotations

import pytest

from engine.db import UnitOfWork
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from web import create_app


@pytest.fixture
def app(system):
    app = create_app(system.settings, system.db)
    app.config.update(TESTING=True)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(system):
    """`token("agent1")` → a fresh API token of that demo user."""

    def make(username: str) -> str:
        with UnitOfWork(system.db) as uow:
            return api_tokens.create_token(uow, SYSTEM, username, "tests")[1]

    return make


@pytest.fixture
def api(client, token):
    """`api("agent1").get(url)` → the test client's request with that user's bearer token."""

    class Caller:
        def __init__(self, username: str):
            self.headers = {"Authorization": f"Bearer {token(username)}"}

        def __getattr__(self, method):
            def call(url, headers=None, **kwargs):
                return getattr(client, method)(url, headers={**self.headers, **(headers or {})}, **kwargs)
            return call

    return Caller


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["type"].startswith("urn:complaints:problem:") and body["title"]
    return body
