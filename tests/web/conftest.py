"""The web app on a real database (the `system` fixture), signed in as demo users."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest

from engine.bootstrap import DEMO_PASSWORD
from web import create_app
from web.i18n import MISSING_MARK

TRANSLATIONS = Path(__file__).resolve().parents[2] / "web" / "translations"


def compile_catalogues() -> None:
    """Compile every .po into the .mo the app reads (what `make assets` does with pybabel).

    Written under a temporary name and renamed: another test process may be reading the .mo meanwhile."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        with po.open("rb") as source:
            catalog = read_po(source)
        with tempfile.NamedTemporaryFile("wb", dir=po.parent, suffix=".mo", delete=False) as target:
            write_mo(target, catalog)
        os.chmod(target.name, 0o644)  # as pybabel leaves it, not the temporary file's 0600
        os.replace(target.name, po.with_suffix(".mo"))


@pytest.fixture(scope="session", autouse=True)
def _catalogues():
    compile_catalogues()


def make_app(system, csrf: bool = False):
    app = create_app(system.settings, system.db)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=csrf, I18N_MARK_MISSING=True)
    return app


@pytest.fixture
def app(system):
    return make_app(system)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(app):
    """`login("agent1")` → a test client signed in as that demo user (each its own cookie jar)."""

    def sign_in(username: str, locale: str | None = None, password: str = DEMO_PASSWORD):
        client = app.test_client()
        response = client.post("/login", data={"username": username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)
        if locale:
            client.post("/language", data={"locale": locale, "next": "/"})
        return client

    return sign_in


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    assert MISSING_MARK.format("")[0] not in html, re.findall(r"\u27e6[^\u27e7]*\u27e7", html)
    return html
