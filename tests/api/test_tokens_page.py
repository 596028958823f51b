"""The "API tokens" page: create (shown once), list, revoke; only one's own tokens."""
from __future__ import annotations

import re

from engine.bootstrap import DEMO_PASSWORD
from tests.api.conftest import problem
from tests.web.conftest import compile_catalogues


def signed_in(app, username):
    client = app.test_client()
    client.post("/login", data={"username": username, "password": DEMO_PASSWORD})
    return client


def test_create_use_and_revoke_a_token_on_the_page(app, client):
    compile_catalogues()
    app.config["WTF_CSRF_ENABLED"] = False
    agent = signed_in(app, "agent1")
    created = agent.post("/account/api-tokens", data={"name": "夜间同步"}).get_data(as_text=True)
    token = re.search(r'<code class="token">(cpt_[^<]+)</code>', created)[1]
    assert client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    listed = agent.get("/account/api-tokens").get_data(as_text=True)
    assert "夜间同步" in listed and token not in listed and token[:10] in listed
    token_id = re.search(r"/account/api-tokens/(\d+)/revoke", listed)[1]
    # Someone else cannot see or revoke it.
    other = signed_in(app, "agent2")
    assert "夜间同步" not in other.get("/account/api-tokens").get_data(as_text=True)
    assert other.post(f"/account/api-tokens/{token_id}/revoke").status_code == 404
    assert agent.post(f"/account/api-tokens/{token_id}/revoke").status_code == 302
    problem(client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}), 401)
    assert agent.post("/account/api-tokens", data={"name": "x" * 81}).status_code == 422
    assert agent.post("/account/api-tokens", data={"name": "a", "role": "admin"}).status_code == 400
    assert app.test_client().get("/account/api-tokens").status_code == 302


def test_the_page_needs_a_csrf_token(app):
    agent = signed_in_with_csrf(app)
    assert agent.post("/account/api-tokens", data={"name": "x"}).status_code == 400


def signed_in_with_csrf(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', page)
    client.post("/login", data={"username": "agent1", "password": DEMO_PASSWORD,
                                "csrf_token": token[1] or token[2]})
    return client
