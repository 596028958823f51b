"""A live server on a fresh database, Debian's Chromium through Playwright, screenshots on failure."""
from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.web.conftest import compile_catalogues, make_app

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
VENDOR = ROOT / "web" / "static" / "vendor" / "bpmn-js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
#: Seconds between the live server's checks for its shutdown.
SHUTDOWN_POLL = 0.02


@pytest.fixture(scope="session")
def _assets():
    """The compiled catalogues and bpmn-js, as `make assets` leaves them."""
    compile_catalogues()
    if not (VENDOR / "bpmn-navigated-viewer.production.min.js").exists():
        source = ROOT / "node_modules" / "bpmn-js" / "dist"
        if not source.exists():
            pytest.fail("bpmn-js is missing: run `make assets`")
        shutil.copytree(source, VENDOR, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def browser(_assets):
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def serve(app) -> Iterator[str]:
    """Serve `app` from a thread on a free port of 127.0.0.1 while the caller's fixture lasts: its address."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # The loop sees `shutdown()` only when its wait for a connection ends: at socketserver's default of every
    # 0.5 s, each test's teardown waited 0.25 s on average for it, with both the server and the test idle.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": SHUTDOWN_POLL}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def live_server(system):
    """The app (CSRF on, as in production) served from a thread on a free port of 127.0.0.1."""
    yield from serve(make_app(system, csrf=True))


@pytest.fixture
def pages(browser, request):
    """Open a new browser (own cookies) per user with `pages.open()`; all are screenshot if the test fails."""
    opened = []

    class Pages:
        def open(self, locale: str = "zh-CN"):
            context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
            page = context.new_page()
            page.set_default_timeout(15000)
            opened.append(page)
            return page

    yield Pages()
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        ARTIFACTS.mkdir(exist_ok=True)
        for number, page in enumerate(opened):
            name = f"{request.node.name}-{number}.png".replace("/", "_").replace("[", "-").replace("]", "")
            page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    for page in opened:
        page.context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.report_call = report
