"""The public complaint form in Chromium, on a desktop (1366 px) and a phone (390 px), in Chinese (the default,
whatever the browser's language) and in English: a complaint with a photo that an agent then judges with the
suggested category shown; a refused form that keeps every field; the page of a limit that was hit.

Every size and language on SQLite; on PostgreSQL the first (1366 px, Chinese) only: the sizes and languages are
the page's layout and words, which the database cannot change; the submission's way through it is the same."""
from __future__ import annotations

import re

import pytest

from engine.bootstrap import DEMO_PASSWORD
from tests.browser.conftest import serve
from tests.browser.navigation import submit
from tests.browser.test_walkthrough import ANSWERS, fill
from tests.conftest import BACKENDS
from tests.web.conftest import make_app
from tests.web.test_evidence import png

pytestmark = pytest.mark.browser

SIZES = [(1366, "zh"), (390, "zh"), (1366, "en"), (390, "en")]
#: (database, width, language) of each test: every size on SQLite, the first on PostgreSQL when configured.
VARIANTS = pytest.mark.parametrize(
    ("database_url", "width", "lang"),
    [("sqlite", *size) for size in SIZES] + [(backend, *SIZES[0]) for backend in BACKENDS[1:]],
    indirect=["database_url"])
TEXTS = {
    "zh": {"title": "提交投诉", "done": "谢谢，我们已收到您的投诉", "suggested": "系统建议的分类",
           "again": "请重新选择文件", "limited": "提交次数过多", "changed": "类别已改为：商品质量。"},
    "en": {"title": "File a complaint", "done": "Thank you — we have received your complaint",
           "suggested": "系统建议的分类", "again": "please choose them again", "limited": "Too many submissions",
           "changed": "类别已改为：商品质量。"},
}
VALUES = {"customer_contact": "wang@customer.example.cn", "customer_name": "王女士", "order_id": "JD-1001",
          "description": "快递三天了还没收到，物流信息不更新", "demand": "尽快发货或者退款"}


def _sign_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", DEMO_PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/login" not in url)


def _open(pages, width: int, lang: str, base: str):
    page = pages.open("en-US")  # an English browser: the form is Chinese all the same unless asked
    page.set_viewport_size({"width": width, "height": 844 if width < 500 else 900})
    page.goto(f"{base}/complain" + ("?lang=en" if lang == "en" else ""))
    return page


def _fits(page) -> None:
    """Nothing wider than the screen: no sideways scrolling on a phone."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _fill(page, values: dict[str, str], photo) -> None:
    for name, value in values.items():
        page.fill(f"#{name}", value)
    page.set_input_files("#files", files=[{"name": "外箱.png", "mimeType": "image/png", "buffer": photo}])


@VARIANTS
def test_a_photo_starts_a_complaint_that_an_agent_judges_with_the_suggestion(live_server, pages, width, lang):
    words = TEXTS[lang]
    customer = _open(pages, width, lang, live_server)
    assert customer.locator("h1").inner_text() == words["title"]
    assert customer.locator("#website").bounding_box()["x"] < 0  # the robots' field is off the screen
    _fits(customer)
    _fill(customer, VALUES, png())
    customer.click("button[type=submit]")
    customer.wait_for_url(re.compile(r"/complain/done$"))
    assert words["done"] in customer.locator("h1").inner_text()
    reference = customer.locator(".reference").inner_text()
    assert re.fullmatch(r"TS\d{8}-\d{6}", reference)
    _fits(customer)
    link = customer.locator(".private-link a").get_attribute("href")  # at PUBLIC_BASE_URL, not this test server
    customer.goto(live_server + link[link.index("/c/"):])
    assert reference in customer.content()

    agent = pages.open()
    _sign_in(agent, live_server, "agent1")
    agent.goto(f"{live_server}/tasks/queue")
    agent.click('tr[data-task="judge_validity"] a.task-link')
    panel = agent.locator("section.suggestion")
    assert words["suggested"] in panel.inner_text() and "物流" in panel.inner_text()
    assert "快递" in panel.locator(".matched").first.inner_text()
    agent.select_option("#suggestion-category", "product_quality")
    agent.click("section.suggestion button[type=submit]")
    agent.wait_for_selector(".flash-success")
    assert words["changed"] in agent.locator(".flash-success").inner_text()
    fill(agent, ANSWERS["judge_validity"])
    agent.click('button[name="_action"][value="submit"]')
    agent.wait_for_url(re.compile(r"/complaints/\d+$"))
    assert agent.locator(".flash-success").count() == 1
    assert "商品质量" in agent.content() and reference in agent.content()


@VARIANTS
def test_a_refused_form_keeps_every_field(live_server, pages, width, lang):
    words = TEXTS[lang]
    page = _open(pages, width, lang, live_server)
    _fill(page, dict(VALUES, customer_contact="12"), png())
    page.select_option("#category", "logistics")
    page.click("button[type=submit]")
    page.wait_for_selector(".flash-error")
    for name, value in dict(VALUES, customer_contact="12").items():
        assert page.input_value(f"#{name}") == value, name
    assert page.input_value("#category") == "logistics"
    assert page.locator("#customer_contact").get_attribute("aria-invalid") == "true"
    assert words["again"] in page.locator("#evidence-error").inner_text()
    _fits(page)
    page.fill("#customer_contact", VALUES["customer_contact"])
    page.set_input_files("#files", files=[{"name": "外箱.png", "mimeType": "image/png", "buffer": png()}])
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/complain/done$"))


@pytest.fixture
def limited_server(system):
    """A live server whose form takes one submission per contact an hour."""
    app = make_app(system, csrf=True)
    app.config.update(PUBLIC_FORM_CONTACT_LIMIT="1 per hour")
    yield from serve(app)


@VARIANTS
def test_a_limit_answers_with_a_page_of_its_own(limited_server, pages, width, lang):
    page = _open(pages, width, lang, limited_server)
    _fill(page, VALUES, png())
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/complain/done$"))
    page.goto(f"{limited_server}/complain")
    _fill(page, dict(VALUES, order_id="JD-2002"), png())
    submit(page, "button[type=submit]")
    assert TEXTS[lang]["limited"] in page.locator("h1").inner_text()
    assert page.locator("a", has_text="中文" if lang == "zh" else "English").count() == 1
    _fits(page)
