"""One language at a time (issue 14): every staff page of every role and every kind of notification, rendered in
Chinese, shows no English word outside an allow-list of proper nouns and codes; rendered in English, shows no
Chinese outside the data people typed (names, complaint texts)."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import chinese_calendar
import lxml.html
import pytest
from sqlalchemy import select

from engine.db import UnitOfWork
from engine.models import Notification, User
from tests.lifecycle import open_task, start, step
from tests.web.test_evidence import PDF, _upload, png
from web import mail

#: Words that stay as they are in the Chinese UI: product and file-format names, codes, the language switch.
ALLOWED_LATIN = {
    "English", "PDF", "PNG", "JPG", "TXT", "KB", "MB", "CSV", "Excel", "API", "BPMN", "DMN", "JSON", "XML", "URL",
    "ID", "SLA", "bpmn", "io", "ORD", "TS", "Token", "Bearer", "OpenAPI", "SMTP", "IMAP", "E-mail", "Email", "ok",
    "min", "h", "d", "ISO", "Python", "Schema", "Camunda", "Modeler", "Authorization", "zip", "gunicorn",
}
#: Data the tests type (order ids, file names, e-mail addresses, login names, links) is not UI text, nor are a
#: model's quoted code values ("none" in a decision table's column name).
DATA = re.compile(r"[\w.+-]+@[\w.-]+|https?://\S+|(?<!\w)/[\w/.-]+|\b\w+/|\b[\w.-]+\.(?:png|pdf|txt|bpmn|dmn|json)\b|\b\w+_\w+\b|ORD-\d+|"
                  r'"\w+"|'

                  r"TS\d{8}-\d+|\b(?:agent|head|cs_manager|gm|owner|admin)\w*\b")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]+")
#: Where the shipped model's texts are bilingual by design (the modeller edits the raw model) or the text is data.
SKIP = "//body//script|//body//style|//body//code|//body//pre|//body//textarea|//body//*[@lang]"


def _texts(html: str) -> list[str]:
    """The visible words of a page: text nodes and the attributes people read (title, placeholder, alt…)."""
    root = lxml.html.fromstring(html)
    for el in root.xpath(SKIP):
        el.drop_tree()
    body = root.find("body") if root.find("body") is not None else root
    texts = [t for t in body.itertext() if t.strip()]
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        for name in ("title", "placeholder", "alt", "aria-label"):
            if el.get(name):
                texts.append(el.get(name))
        if el.tag == "input" and el.get("type") in ("submit", "button") and el.get("value"):
            texts.append(el.get("value"))
    title = root.find(".//title")
    if title is not None and title.text:
        texts.append(title.text)
    return texts


def english_in(texts: list[str], names: set[str]) -> set[str]:
    """English words in Chinese texts (besides the allowed codes and the data)."""
    found = set()
    for text in texts:
        for name in names:
            text = text.replace(name, " ")
        text = DATA.sub(" ", text)
        found |= {w for w in LATIN_WORD.findall(text) if w not in ALLOWED_LATIN}
    return found


def chinese_in(texts: list[str], data: set[str]) -> set[str]:
    """Chinese in English texts, besides the data people typed and their names."""
    found = set()
    for text in texts:
        for item in sorted(data, key=len, reverse=True):
            text = text.replace(item, " ")
        found |= set(CJK.findall(text)) - {"中文"}
    return found


def _names(system) -> set[str]:
    with UnitOfWork(system.db, write=False) as uow:
        return {n for n in uow.session.scalars(select(User.display_name)) if n}


def _pages(system, login, locale: str) -> dict[str, dict[str, str]]:
    """Every role's pages (its navigation, a complaint at each kind of page, a task form) as HTML."""
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    agent = login("agent1", locale=locale)
    _upload(agent, cid, ("破损.png", png()), ("合同.pdf", PDF))
    agent.post(f"/complaints/{cid}/comments", data={"body": "备注"})
    task = open_task(system, cid).id
    closed = start(system).complaint_id
    for expect in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution",
                   "follow_up", "cs_sign_off", "gm_review"):
        step(system, closed, expect)
    extra = {
        "agent1": [f"/complaints/{cid}", f"/complaints/{closed}", f"/complaints/{cid}/customer-link",
                   f"/complaints/{closed}/print", "/search?q=ORD", "/complaints/new", "/account/api-tokens"],
        "head_logistics": [f"/task/{task}", f"/complaints/{cid}", "/reports", f"/task/{task}/assign"],
        "cs_manager": [f"/complaints/{closed}", "/reports", f"/task/{task}/assign"],
        "gm": ["/deferrals", "/reports", f"/complaints/{closed}"],
        "owner": ["/models/", "/models/versions/1", "/models/complaint_lifecycle/draft"],
        "admin": ["/admin/calendar?year=2026", "/admin/calendar?year=2027", "/admin/users/new",
                  f"/admin/users/{system.actor('agent1').id}", "/admin/tokens", "/admin/customer-links",
                  "/admin/record", "/admin/departments", "/admin/departments/new", "/admin/departments/logistics"],
    }
    assert login("owner", locale=locale).post("/models/complaint_lifecycle/draft/open").status_code == 303
    pages: dict[str, dict[str, str]] = {}
    for user, urls in extra.items():
        client = login(user, locale=locale)
        first = client.get("/", follow_redirects=True)
        html = first.get_data(as_text=True)
        nav = re.findall(r'<(?:nav|header)[^>]*>.*?</(?:nav|header)>', html, re.S)
        links = [u for block in nav for u in re.findall(r'href="(/[^"]*)"', block)]
        for url in dict.fromkeys(links + urls):
            if url.startswith("/static"):
                continue
            response = client.get(url)
            if response.status_code == 200 and response.mimetype == "text/html":
                pages.setdefault(user, {})[url] = response.get_data(as_text=True)
    return pages


def _assert_no_other_language(pages: dict[str, dict[str, str]], found_in) -> None:
    """`found_in(texts)` finds nothing on any page (the failure lists each page's findings)."""
    problems = {f"{user} {url}": sorted(found) for user, by_url in pages.items() for url, html in by_url.items()
                if (found := found_in(_texts(html)))}
    assert problems == {}, "\n".join(f"{k}: {v}" for k, v in problems.items())


def test_the_chinese_pages_have_no_english(system, login):
    names = _names(system)
    _assert_no_other_language(_pages(system, login, "zh"), lambda texts: english_in(texts, names))


def _typed(system) -> set[str]:
    """What the tests typed (in Chinese) and the people's names: data, not UI text."""
    from tests.lifecycle import ANSWERS, INTAKE
    typed = {v for v in INTAKE.values() if isinstance(v, str)}
    typed |= {v for answers in ANSWERS.values() for v in answers.values() if isinstance(v, str)}
    holidays = {h.chinese for h in chinese_calendar.Holiday}  # the official names the calendar page lists
    return typed | _names(system) | holidays | {"破损.png", "合同.pdf", "备注", "顾客甲"}


def test_the_english_pages_have_no_chinese(system, login):
    typed = _typed(system)
    _assert_no_other_language(_pages(system, login, "en"), lambda texts: chinese_in(texts, typed))


SAMPLE = {"reference": "TS20261123-000001", "customer": "顾客甲", "task": "总经理审阅签字 GM reviews and signs",
          "task_en": "GM reviews and signs", "due": "2026-11-23T09:00:00+00:00",
          "deadline": "2026-11-23T09:00:00+00:00", "until": "2026-11-24T09:00:00+00:00", "amount": 80,
          "requester": "王芳", "reason": "顾客电话无人接听", "note": "", "level": "major",
          "escalated_to": "general_manager", "cause": "运输途中挤压", "period": "2026-11", "kind": "month",
          "comment": "同意", "recorder": "张伟",
          "link": "https://example.com/c/abc", "days": 90, "first_response": "PT30M"}


@pytest.mark.parametrize("kind", sorted(mail.MESSAGES))
def test_every_notification_speaks_one_language(kind):
    zone = ZoneInfo("Asia/Shanghai")
    # A parameter this sample does not know (a kind added later) gets a number: neither language.
    named = re.findall(r"%\((\w+)\)s", " ".join(mail.MESSAGES[kind]))
    params = {**{name: "7" for name in named}, **SAMPLE}
    subject, body = mail.render(kind, params, "zh", zone)
    assert english_in([subject, body], {"顾客甲", "王芳", "张伟"}) == set(), (subject, body)
    subject_en, body_en = mail.render(kind, params, "en", zone)
    typed = {"顾客甲", "王芳", "顾客电话无人接听", "运输途中挤压", "同意", "张伟"}
    assert chinese_in([subject_en, body_en], typed) == set(), (subject_en, body_en)
    if "%(task)s" in mail.MESSAGES[kind][0]:
        assert "总经理审阅签字" in subject and "GM reviews and signs" in subject_en


def test_notifications_in_the_outbox_read_in_one_language(system, login):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    with UnitOfWork(system.db, write=False) as uow:
        kinds = set(uow.session.scalars(select(Notification.kind)))
    assert "assigned" in kinds
    page = login("agent1", locale="zh").get("/notifications", follow_redirects=True).get_data(as_text=True)
    assert english_in(_texts(page), _names(system)) == set()


def test_migration_reasons_name_states_and_changes_in_the_page_language():
    from babel.support import Translations

    from engine.errors import Code
    from web import messages
    from web.mail import TRANSLATIONS
    zh = Translations.load(str(TRANSLATIONS), ["zh"]).gettext
    removed = messages.render(Code.MIGRATE_OPEN_TASK_REMOVED, {"task": "hand_over", "state": "READY"}, zh)
    changed = messages.render(Code.MIGRATE_OPEN_TASK_CHANGED, {"task": "hand_over", "changes": "lane, script"}, zh)
    assert "待处理" in removed and "READY" not in removed
    assert "泳道" in changed and "脚本" in changed and "lane" not in changed
    assert english_in([removed, changed], set()) == set()


def test_people_by_name_markdown_rendered_and_no_column_twice(system, login):
    """Issue 14's findings stay fixed: staff are shown by display name, never by login name (only the
    administrator's user pages list login names); instructions' **bold** is rendered, not shown as asterisks; no
    table shows a column twice (the reports once had 责任部门 twice)."""
    logins = re.compile(r"\b(?:agent\d|head_[a-z_]+|cs_manager|gm|owner|admin)\b")
    problems = {}
    for user, by_url in _pages(system, login, "zh").items():
        for url, html in by_url.items():
            texts = _texts(html)
            if not url.startswith("/admin/users") and (named := {m for t in texts for m in logins.findall(t)}):
                problems[f"{user} {url} login names"] = sorted(named)
            if [t for t in texts if "**" in t]:
                problems[f"{user} {url} asterisks"] = [t for t in texts if "**" in t][:3]
            for table in lxml.html.fromstring(html).iter("table"):
                heads = [h.text_content().strip() for h in table.xpath("./thead/tr/th|./tr/th")]
                twice = sorted({h for h in heads if h and heads.count(h) > 1})
                if twice:
                    problems[f"{user} {url} columns twice"] = twice
    assert problems == {}
