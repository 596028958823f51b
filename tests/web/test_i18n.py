"""Both languages everywhere: the catalogues are complete and current, pages show no untranslated text,
and the language follows the user's choice, else the browser, else Chinese."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from engine.db import UnitOfWork
from engine.models import User
from tests.lifecycle import open_task, start, step
from tests.web.conftest import TRANSLATIONS, text_of

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = dict(DEFAULT_KEYWORDS, _l=None, lazy_gettext=None)
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context in
            extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)}


def test_catalogues_are_complete_and_current():
    """Every text in the code and templates is in the .pot, and every .pot text has a Chinese and an
    English translation that keeps its placeholders; both catalogues compile."""
    with (TRANSLATIONS / "messages.pot").open("rb") as pot_file:
        pot = {m.id for m in read_po(pot_file) if m.id}
    missing = _source_messages() - pot
    assert not missing, f"run pybabel extract (see babel.cfg) and translate: {sorted(missing)}"
    for locale in ("zh", "en"):
        with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
            catalog = read_po(po_file, locale=locale)
        for msgid in pot:
            message = catalog.get(msgid)
            assert message is not None and message.string and not message.fuzzy, (locale, msgid)
            placeholders = set(PLACEHOLDER.findall(msgid))
            assert set(PLACEHOLDER.findall(message.string)) == placeholders, (locale, msgid)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        compiled.seek(0)
        assert {m.id for m in read_mo(compiled) if m.id} == pot


def test_chinese_says_kou_fa_and_yuan():
    """The trade's words for money taken from pay (DOMAIN §7): 扣罚 / 超时扣罚, never 罚款, and amounts as "80 元",
    never "¥80" — in the Chinese catalogue and in the model's Chinese texts (forms, instructions, names)."""
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        texts = [m.string for m in read_po(po_file, locale="zh") if m.id and isinstance(m.string, str)]
    texts += [line for path in sorted((ROOT / "workflows").rglob("*")) if path.suffix in (".json", ".bpmn", ".dmn")
              for line in path.read_text(encoding="utf-8").splitlines() if re.search(r"[\u4e00-\u9fff]", line)
              and not re.search(r'"x-[\w-]*-en"|_en"|name="\w+_en"', line)]
    assert [t for t in texts if "罚款" in t or "¥" in t or "￥" in t] == []
    assert any("超时扣罚" in t and "元" in t for t in texts)


def test_chinese_uses_the_trades_words():
    """The regulation's vocabulary (DOMAIN, "Trade vocabulary"): 待领取任务 not 我的队列, 二次到店 not 二次到访,
    答复顾客（投诉不成立）, one wording (即将到期) for a deadline near, 批示 only for the general manager's note."""
    with (TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as po_file:
        catalogue = {m.id: m.string for m in read_po(po_file, locale="zh") if m.id and isinstance(m.string, str)}
    texts = list(catalogue.values())
    texts += [line for path in sorted((ROOT / "workflows").rglob("*")) if path.suffix in (".json", ".bpmn", ".dmn")
              for line in path.read_text(encoding="utf-8").splitlines() if re.search(r"[\u4e00-\u9fff]", line)]
    for wrong in ("我的队列", "二次到访", "答复不成立投诉", "快到期", "即将超时", "临近截止"):
        assert [t for t in texts if wrong in t] == [], wrong
    assert catalogue["My queue"] == "待领取任务" and catalogue["Due soon"] == "即将到期"
    assert catalogue["Deadline near: %(task)s"].startswith("即将到期")
    assert catalogue["Note"] == "备注" and catalogue["General manager's comments"] == "总经理批示"
    assert any("答复顾客（投诉不成立）" in t for t in texts) and any("中差评" in t for t in texts)


@pytest.fixture
def busy_complaint(system, login):
    """A complaint half-way through with a comment, a contact and evidence (every part of every page shows),
    and a closed one."""
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    agent = login("agent1")
    agent.post(f"/complaints/{cid}/comments", data={"body": "顾客情绪激动"})
    agent.post(f"/complaints/{cid}/contacts", data={"contacted_at": "2026-11-23T17:05", "channel": "phone",
                                                    "summary": "已道歉"})
    agent.post(f"/complaints/{cid}/evidence", content_type="multipart/form-data",
               data={"files": [(io.BytesIO(b"chat log"), "chat.txt")]})
    agent.post(f"/tasks/{open_task(system, cid).id}/claim")  # refused (not an agent's task): a 403 page
    closed = start(system).complaint_id
    step(system, closed, "judge_validity", valid=False)
    step(system, closed, "reply_not_valid")
    return cid, closed


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_page_renders_without_untranslated_text(system, login, busy_complaint, locale):
    cid, closed = busy_complaint
    task = open_task(system, cid)
    pages = {
        "agent1": ["/tasks/mine", "/tasks/queue", "/tasks/overdue", "/tasks/due_soon", "/complaints/new",
                   f"/complaints/{cid}", f"/complaints/{closed}", "/search", "/search?q=x&status=open",
                   "/search?created_from=bad"],
        "head_logistics": ["/tasks/queue", f"/task/{task.id}", f"/complaints/{cid}", "/home", "/deputies",
                           f"/task/{task.id}/assign", "/tasks/queue?due=overdue&claim=unclaimed&q=x"],
        "gm": ["/tasks/overdue", f"/complaints/{closed}", "/deferrals", "/notifications", "/home"],
        "admin": ["/admin/users", "/admin/users/new", "/admin/users/1", "/admin/tokens", "/admin/customer-links",
                  "/account/password"],
    }
    for user, urls in pages.items():
        client = login(user, locale)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (user, url)
            text_of(response)
    client = login("head_quality", locale)
    # a department head records complaints too (RECORDING_ROLES); the model's owner does not
    for url, status in ((f"/complaints/{cid}", 403), ("/complaints/9999", 404), ("/complaints/new", 200),
                        ("/nowhere", 404)):
        response = client.get(url)
        assert response.status_code == status, url
        text_of(response)
    refused = login("owner", locale).get("/complaints/new")
    assert refused.status_code == 403
    text_of(refused)
    handled = login("agent1", locale).get(f"/task/{_done_task(system, closed)}")
    assert handled.status_code == 409
    text_of(handled)
    assert "<html lang=" in text_of(_anonymous(system, locale).get("/login"))


def _anonymous(system, locale):
    from tests.web.conftest import make_app

    client = make_app(system).test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en-US,en;q=0.9" if locale == "en" else "zh-CN,zh;q=0.9"
    return client


def _done_task(system, cid) -> str:
    from engine.models import WorkTask

    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.query(WorkTask).filter_by(complaint_id=cid, status="completed").first().id


def test_language_follows_browser_then_user_choice(system, client, login):
    assert "登录" in text_of(client.get("/login"))  # default: Chinese
    english = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.8"})
    assert "Sign in" in text_of(english) and '<html lang="en">' in english.get_data(as_text=True)
    assert "登录" in text_of(client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}))
    agent = login("agent1")
    agent.post("/language", data={"locale": "en", "next": "/tasks/mine"})
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(User).filter_by(username="agent1").one().locale == "en"
    fresh = login("agent1")  # another browser: the stored choice wins over the browser's language
    assert "My tasks" in text_of(fresh.get("/tasks/mine", headers={"Accept-Language": "zh-CN"}))
    assert agent.post("/language", data={"locale": "fr"}).status_code == 400
