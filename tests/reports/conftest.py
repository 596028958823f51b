"""The staff pages of the reports, signed in as demo users, with missing translations made visible."""
from __future__ import annotations

import pytest

from engine.bootstrap import DEMO_PASSWORD
from tests.web.conftest import compile_catalogues
from web import create_app


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
