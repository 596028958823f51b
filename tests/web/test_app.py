"""The app factory's configuration: the session key and the error pages."""
from __future__ import annotations

import os
from dataclasses import replace

from web import create_app
from web.secret import secret_key


def test_secret_key_is_generated_once_and_reused(system):
    settings = replace(system.settings, secret_key="")
    first = secret_key(settings)
    path = settings.instance_dir / "secret_key"
    assert len(first) == 64 and path.read_text() == first
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert secret_key(settings) == first
    assert create_app(settings, system.db).secret_key == first
    assert secret_key(replace(settings, secret_key="from-env")) == "from-env"


def test_unexpected_errors_are_a_translated_page_not_a_trace(system, login, app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = login("agent1").get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "出错了" in html and "secret detail" not in html
