"""The staff pages of the reports, signed in as demo users, with missing translations made visible."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bench.reports import current_version_id, generate, insert_data, staff_of
from engine.bootstrap import DEMO_PASSWORD
from tests.web.conftest import compile_catalogues
from web import create_app

TZ = ZoneInfo("Asia/Shanghai")
#: The tests' frozen "now": generated complaints end there.
NOW = datetime(2026, 11, 23, 9, tzinfo=TZ)


def generated(system, count: int, since: datetime, seed: int) -> list[dict]:
    """`count` complaints generated from `since` to the tests' now (`bench.reports`), stored; their rows."""
    dataset = generate(count, since, NOW, current_version_id(system.db), staff_of(system.db), seed=seed)
    insert_data(system.db, dataset)
    return dataset


@pytest.fixture(scope="session", autouse=True)
def _catalogues():
    compile_catalogues()


@pytest.fixture
def app(system):
    app = create_app(system.settings, system.db)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False, I18N_MARK_MISSING=True)
    return app


@pytest.fixture
def login(app):
    def sign_in(username: str, locale: str | None = None):
        client = app.test_client()
        assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD}).status_code == 302
        if locale:
            client.post("/language", data={"locale": locale, "next": "/"})
        return client

    return sign_in
