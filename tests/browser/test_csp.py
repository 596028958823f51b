"""The pages still run their scripts under the strict Content-Security-Policy, and the browser reports no
violation: sign-in, a task form (its deadline counter), the complaint page's diagram, the report page, the
API tokens page and the modeller. A script or style slipped in inline would be blocked and reported here.

On SQLite only (`one_backend`): what is checked is the browser's enforcement of the policy the pages are
sent with, which the database behind them cannot change."""
from __future__ import annotations

import re

import pytest

from tests.browser.test_modeller import modeller_assets  # noqa: F401 - the modeller bundle, built if missing
from tests.browser.test_walkthrough import sign_in
from tests.lifecycle import start

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]

#: Collects every CSP violation the page reports (the event fires for blocked scripts, styles, frames…).
WATCH = """() => {
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => window.__csp.push([
    e.violatedDirective, e.blockedURI || 'inline', e.sample || '',
    (e.sourceFile || '') + ':' + e.lineNumber + ':' + e.columnNumber,
    e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : ''].join(' ')));
}"""


def _watch(page) -> list[str]:
    """Console lines about the policy, plus the violations each loaded document reports."""
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(f"({WATCH})()")
    return console


def _violations(page) -> list[str]:
    return page.evaluate("() => window.__csp || []")


def test_pages_run_their_scripts_under_the_policy(system, live_server, pages, modeller_assets):  # noqa: F811
    cid = start(system).complaint_id
    page = pages.open()
    console = _watch(page)

    sign_in(page, live_server, "agent1")
    assert _violations(page) == []

    # A task form: app.js turns each deadline into a live "time left" text.
    page.goto(f"{live_server}/tasks/mine")  # the recorder holds it (待领取任务 lists what nobody holds)
    page.click('tr[data-task="judge_validity"] a.task-link')
    page.wait_for_selector("form.schema-form")
    assert _violations(page) == []

    # The complaint page: bpmn-js draws the model and marks where the complaint stands.
    page.goto(f"{live_server}/complaints/{cid}")
    page.wait_for_selector('#diagram[data-ready="1"]')
    assert page.locator("#diagram svg g.djs-element").count() > 5
    assert _violations(page) == []

    for url in ("/reports", "/account/api-tokens", f"/complaints/{cid}/customer-link"):
        page.goto(live_server + url)
        page.wait_for_load_state("load")
        assert _violations(page) == [], url

    # The modeller: the process owner's editor loads the draft into bpmn-js, its panel and dmn-js.
    owner = pages.open()
    console_owner = _watch(owner)
    sign_in(owner, live_server, "owner")
    owner.goto(f"{live_server}/models/")
    owner.click("text=在建模器中编辑")
    owner.wait_for_selector("#modeller[data-ready='1']")
    assert owner.locator("#modeller svg g.djs-element").count() > 5
    owner.click("[data-tab=forms]")
    owner.wait_for_load_state("load")
    assert _violations(owner) == []

    assert console == [] and console_owner == [], console + console_owner


def test_an_inline_script_is_blocked_and_reported(live_server, pages):
    """The check above can fail: a script injected into a page as markup is refused by the policy."""
    page = pages.open()
    _watch(page)
    page.goto(f"{live_server}/login")
    page.evaluate("""() => {
      const holder = document.createElement('div');
      holder.innerHTML = '<img src="x:" onerror="window.__ran = 1">';
      document.body.appendChild(holder);
      const s = document.createElement('script');
      s.textContent = 'window.__ran = 2';
      document.body.appendChild(s);
    }""")
    page.wait_for_function("() => window.__csp.length >= 1")
    assert page.evaluate("() => window.__ran") is None
    assert any(re.match(r"script-src", v) for v in _violations(page))


def _wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A short silent WAV recording (a telephone call's evidence)."""
    import io
    import wave

    out = io.BytesIO()
    with wave.open(out, "wb") as recording:
        recording.setnchannels(1)
        recording.setsampwidth(1)
        recording.setframerate(rate)
        recording.writeframes(b"\x80" * int(seconds * rate))
    return out.getvalue()


def test_evidence_previews_show_and_play_under_the_policy(system, live_server, pages):
    from tests.web.test_evidence import PDF, png

    cid = start(system).complaint_id
    page = pages.open()
    console = _watch(page)
    sign_in(page, live_server, "agent1")
    page.goto(f"{live_server}/complaints/{cid}")
    page.set_input_files("#evidence-files", files=[
        {"name": "破损照片.png", "mimeType": "image/png", "buffer": png()},
        {"name": "发票.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "通话录音.wav", "mimeType": "audio/wav", "buffer": _wav()}])
    page.click("form[action$='/evidence'] button[type=submit]")
    page.wait_for_selector("audio.preview")
    image = page.locator('img[alt="破损照片.png"]')
    image.scroll_into_view_if_needed()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    audio = page.locator("audio.preview")
    page.wait_for_function("(a) => a.readyState >= 1", arg=audio.element_handle())  # metadata read: playable
    assert 0.4 < audio.evaluate("a => a.duration") < 0.6
    assert page.locator('iframe[title="发票.pdf"]').count() == 1
    assert _violations(page) == [] and console == []
