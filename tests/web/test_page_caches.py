"""What pages keep for a request (docs/PERFORMANCE.md, "1,000,000 complaints"): the message catalogue is looked up
once per request, and times are written without Babel; both must read exactly as before, in either language."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from flask import g
from flask_babel import format_datetime

from tests.lifecycle import start
from tests.web.conftest import text_of
from web import create_app, i18n, labels, present

STAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d")
FLASH = re.compile(r'<div class="flash[^>]*>.*?</div>', re.S)


def _page(response) -> str:
    """The page without its one-off messages (the welcome) and its CSRF tokens (signed with the second),
    blanks folded."""
    page = re.sub(r'(name="csrf_token"[^>]*value=")[^"]*', r"\1", FLASH.sub("", text_of(response)))
    return re.sub(r"\s+", " ", page)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Europe/Berlin", "America/St_Johns", "UTC"])
def test_local_time_reads_as_babel_wrote_it(system, zone):
    """The display time zone's clock time, naive times taken as UTC, across daylight saving changes and the
    turn of a year, the same in both languages as Babel's `yyyy-MM-dd HH:mm`."""
    app = create_app(replace(system.settings, display_timezone=zone), system.db)
    moments = [datetime(2026, 3, 29, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
               datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 12, 31, 23, 59, 59),
               datetime(2026, 11, 1, 4, 30), datetime(2026, 6, 1, 12, 0, tzinfo=UTC).astimezone()]
    for locale in ("zh", "en"):
        with app.test_request_context(headers={"Accept-Language": locale}):
            assert i18n.lang() == locale
            for moment in moments + [moment + timedelta(minutes=17 * n) for n in range(100) for moment in moments[:1]]:
                assert present.local_time(moment) == format_datetime(moment, "yyyy-MM-dd HH:mm"), (zone, moment)
            assert present.local_time(moments[0].isoformat()) == format_datetime(moments[0], "yyyy-MM-dd HH:mm")


def test_catalogue_is_the_requests_language(system, app):
    """Each request translates in its own language, however many came before it in another one."""
    for locale, claim, agent in (("zh", "领取", "客服"), ("en", "Claim", "Agent"), ("zh", "领取", "客服")):
        with app.test_request_context(headers={"Accept-Language": locale}):
            assert i18n.gettext("Claim") == claim
            assert str(labels.ROLES["agent"]) == agent  # a label named at import, translated when shown
            assert app.jinja_env.from_string("{{ _('Claim') }} {{ _('by %(date)s', date='x') }}").render() == \
                f"{claim} {'x 前' if locale == 'zh' else 'by x'}"
            assert "_page_translations" in g


def test_language_switch_shows_at_once_on_the_task_lists(system, login):
    """A user switching language sees the very next list in the new language (the deadline texts too), and
    switching back restores the first page exactly."""
    start(system)
    agent = login("agent1")
    chinese = _page(agent.get("/tasks/all"))
    assert 'data-task="' in chinese and "领取" in chinese and re.search(r"(今天|明天) \d\d:\d\d 前|剩余", chinese)
    agent.post("/language", data={"locale": "en", "next": "/"})
    english = text_of(agent.get("/tasks/all"))
    assert "领取" not in english and re.search(r"by (today|tomorrow) \d\d:\d\d|left", english)
    assert STAMP.findall(english) == STAMP.findall(chinese)  # the opened times read the same in both
    agent.post("/language", data={"locale": "zh", "next": "/"})
    assert _page(agent.get("/tasks/all")) == chinese
