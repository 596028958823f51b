"""Phones and print (issue 14): every staff page of every role fits 390 px without sideways scrolling and shows
no text missing from the catalogue; the print view of a complaint fits A4.

On SQLite only (`one_backend`): what is checked is the pages' layout in the browser, which the database
behind them cannot change; the workflows end to end run on both backends in the walkthrough and its kin."""
from __future__ import annotations

import io
import os
import re

import pytest

from engine.bootstrap import DEMO_PASSWORD
from tests.browser.navigation import submit
from tests.lifecycle import start, step
from tests.web.test_evidence import PDF, png

pytestmark = [pytest.mark.browser, pytest.mark.one_backend]

PHONE = {"width": 390, "height": 844}
#: Each role's pages beyond the navigation's links ({c}: a complaint in handling, {t}: its open task).
EXTRA = {
    "agent1": ["/complaints/{c}", "/complaints/{c}/customer-link", "/complaints/{c}/print", "/search?q=ORD",
               "/account/api-tokens", "/complaints/new"],
    "head_logistics": ["/task/{t}", "/complaints/{c}", "/reports", "/task/{t}/assign", "/tasks/queue?due=overdue"],
    "cs_manager": ["/complaints/{c}", "/reports", "/task/{t}/assign"],
    "gm": ["/complaints/{c}", "/deferrals", "/reports"],
    "owner": ["/models/versions/1", "/models/complaint_lifecycle/draft"],
    "admin": ["/admin/calendar?year=2026", "/admin/calendar?year=2027", "/admin/users/new", "/admin/users/2",
              "/admin/tokens", "/admin/customer-links", "/admin/record", "/admin/departments"],
}


def _complaint(system, client_upload) -> tuple[int, str]:
    """A complaint at the department head's proposal, with a picture and a PDF as evidence."""
    cid = start(system, description="外包装破损，内件划痕明显，顾客要求换新并补偿运费。" * 3).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    client_upload(cid)
    from tests.lifecycle import open_task
    return cid, open_task(system, cid).id


def sign_in(context, base: str, username: str):
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    submit(page, "button[type=submit].primary")
    return page


def _too_wide(page) -> list[str]:
    """The document's overflow, and the elements sticking out of the viewport (for the failure message)."""
    return page.evaluate("""() => {
      const root = document.documentElement, width = root.clientWidth;
      if (root.scrollWidth <= width) return [];
      const out = [];
      document.querySelectorAll('body *').forEach(e => {
        const r = e.getBoundingClientRect();
        if (r.right > width + 1 && out.length < 5) out.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right));
      });
      return ['scrollWidth ' + root.scrollWidth].concat(out);
    }""")


def test_every_page_of_every_role_fits_a_phone(system, live_server, browser):
    from tests.web.conftest import make_app
    uploader = make_app(system).test_client()
    uploader.post("/login", data={"username": "agent1", "password": DEMO_PASSWORD})

    def upload(cid):
        uploader.post(f"/complaints/{cid}/evidence", content_type="multipart/form-data",
                      data={"files": [(io.BytesIO(png()), "破损照片.png"), (io.BytesIO(PDF), "发票.pdf")]})

    cid, task = _complaint(system, upload)
    owner = make_app(system).test_client()
    owner.post("/login", data={"username": "owner", "password": DEMO_PASSWORD})
    owner.post("/models/complaint_lifecycle/draft/open")  # the modeller's page needs a draft
    problems = {}
    customer_pages = []
    for user, extra in EXTRA.items():
        context = browser.new_context(locale="zh-CN", viewport=PHONE)
        page = sign_in(context, live_server, user)
        first = page.url
        links = page.eval_on_selector_all("header a[href]", "els => els.map(e => e.getAttribute('href'))")
        urls = [first] + [u for u in links if u.startswith("/") and not u.startswith("/static")]
        urls += [u.format(c=cid, t=task) for u in extra]
        seen = set()
        for url in urls:
            if url in seen:
                continue
            seen.add(url)
            response = page.goto(url if url.startswith("http") else live_server + url)
            page.wait_for_load_state()
            expected = 404 if url.startswith("/c/") and url.endswith("x") else 200  # the customer's own 404
            if response is None or response.status != expected:
                problems[f"{user} {url} status"] = response and response.status
            if os.environ.get("PHONE_SHOTS"):  # a look at every page while changing the style sheet
                name = re.sub(r"\W+", "_", f"{user}{url}")[:80]
                page.screenshot(path=f"{os.environ['PHONE_SHOTS']}/{name}.png", full_page=True)
            wide = _too_wide(page)
            if wide:
                problems[f"{user} {url}"] = wide
            untranslated = re.findall("\u27e6[^\u27e7]*\u27e7", page.content())  # text without a catalogue entry
            if untranslated:
                problems[f"{user} {url} untranslated"] = untranslated
            if url.endswith("/customer-link"):  # the customer's own page and its 404, as the customer sees them
                link = page.input_value("#customer-link").removeprefix(system.settings.public_base_url)
                urls += [link, link + "x"]
            if url.startswith("/c/"):
                customer_pages.append(page.title())
        context.close()
    assert problems == {}
    assert len(customer_pages) == 2 and customer_pages[0] != customer_pages[1]  # the status page, the 404


#: A4's width less the print view's side margins (14 mm each), in CSS pixels.
A4_PRINTABLE_PX = round((210 - 28) / 25.4 * 96)


def test_the_printed_complaint_fits_a4_without_navigation_or_forms(system, live_server, browser):
    cid = start(system).complaint_id
    for expect in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution",
                   "follow_up", "cs_sign_off", "gm_review"):
        step(system, cid, expect)
    context = browser.new_context(locale="zh-CN", viewport={"width": A4_PRINTABLE_PX, "height": 1000})
    page = sign_in(context, live_server, "gm")
    page.goto(f"{live_server}/complaints/{cid}")
    page.click("text=打印投诉处理单")
    page.wait_for_url(re.compile(r"/print$"))
    page.emulate_media(media="print")
    assert page.locator("h1").inner_text().startswith("投诉处理单")
    assert page.locator("nav, form, header.top, input, textarea, select").count() == 0
    assert page.locator("button:visible, a:visible").count() == 0  # the screen's "Print" and "back" are hidden
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    text = page.locator("body").inner_text()
    assert "周强" in text and "孙丽" in text  # the two signatures
    assert "总经理审阅签字" in text and "客服部经理签字" in text
    if os.environ.get("PHONE_SHOTS"):
        page.screenshot(path=f"{os.environ['PHONE_SHOTS']}/print.png", full_page=True)
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 3, pages
    context.close()
