"""The working calendar page (administrators): enter, remove and import holidays and make-up working days,
set departments' hours; the administrator's and process owner's first pages warn about a year without a
schedule — through the real app and database."""
from __future__ import annotations

from datetime import date

import pytest

from engine import workcalendar
from engine.db import UnitOfWork
from engine.models import CalendarDay
from tests.web.conftest import text_of

WARNING = 'data-calendar-warning="2027"'


@pytest.fixture(autouse=True)
def _package_only():
    yield
    workcalendar.use(workcalendar.Schedule())


def _days(system) -> dict[date, tuple[str, str]]:
    with UnitOfWork(system.db, write=False) as uow:
        return {r.day: (r.kind, r.name) for r in uow.session.query(CalendarDay)}


def test_a_year_without_schedule_is_warned_on_the_first_pages_until_entered(system, login):
    # The tests' clock stands at 23 November 2026: 2027 is near and neither entered nor in the package.
    admin, owner = login("admin"), login("owner")
    home = text_of(admin.get("/home"))
    assert WARNING in home and "尚无 2027 年的节假日安排" in home and "/admin/calendar?year=2027" in home
    models = text_of(owner.get("/models/"))
    assert WARNING in models and "请管理员在工作日历页面录入" in models
    assert WARNING not in text_of(login("agent1").get("/home"))
    assert "There is no holiday schedule for 2027" in text_of(login("admin", locale="en").get("/home"))
    page = text_of(admin.get("/admin/calendar?year=2027"))
    assert 'data-source="none"' in page and 'id="import-year"' not in page
    response = admin.post("/admin/calendar/days", data={"day": "2027-02-08", "kind": "holiday", "name": "春节"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/calendar?year=2027")
    assert _days(system) == {date(2027, 2, 8): ("holiday", "春节")}
    assert WARNING not in text_of(admin.get("/home")) and WARNING not in text_of(owner.get("/models/"))
    page = text_of(admin.get("/admin/calendar?year=2027"))
    assert 'data-source="database"' in page and 'data-day="2027-02-08" data-kind="holiday"' in page


def test_import_replace_and_remove_days(system, login):
    admin = login("admin")
    page = text_of(admin.get("/admin/calendar?year=2026"))
    assert 'data-source="package"' in page and 'data-day="2026-10-10" data-kind="workday"' in page
    assert "已在计时的时限保持原定截止时间" in page  # what a change does to running deadlines (data dictionary §14b)
    assert admin.post("/admin/calendar/import", data={"year": "2026"}).status_code == 302
    assert len(_days(system)) == 39 and _days(system)[date(2026, 10, 10)] == ("workday", "国庆节")
    # Entering a day again replaces it; removing takes it out.
    admin.post("/admin/calendar/days", data={"day": "2026-10-10", "kind": "holiday", "name": "公司假日"})
    assert _days(system)[date(2026, 10, 10)] == ("holiday", "公司假日")
    assert admin.post("/admin/calendar/days/2026-10-10/remove").status_code == 302
    assert date(2026, 10, 10) not in _days(system)
    assert admin.post("/admin/calendar/days/2026-10-10/remove").status_code == 404
    refused = admin.post("/admin/calendar/import", data={"year": "2027"})
    assert refused.status_code == 422 and "节假日数据包中没有 2027 年的安排" in text_of(refused)
    admin.post("/admin/calendar/hours/logistics", data={"starts": "09:00", "ends": "18:00"})
    record = text_of(admin.get("/admin/record"))
    for done in ("复制了节假日数据包中 2026 年的日期", "在工作日历中录入了 2026-10-10", "从工作日历中删除了 2026-10-10",
                 "设置了储运部的工作时间"):
        assert done in record, done


def test_bad_entries_are_shown_beside_their_fields_and_nothing_is_saved(system, login):
    admin = login("admin")
    refused = admin.post("/admin/calendar/days", data={"day": "2027-02-08", "kind": "weekend", "name": ""})
    assert refused.status_code == 422 and _days(system) == {}
    refused = admin.post("/admin/calendar/days", data={"day": "1999-02-08", "kind": "holiday", "name": "春节"})
    assert refused.status_code == 422 and "2000" in text_of(refused) and _days(system) == {}
    hours = admin.post("/admin/calendar/hours/logistics", data={"starts": "18:00", "ends": "09:00"})
    assert hours.status_code == 422 and "下班时间必须晚于上班时间" in text_of(hours)
    saved = admin.post("/admin/calendar/hours/logistics?year=2026", data={"starts": "09:00", "ends": "18:00"})
    assert saved.status_code == 302
    page = text_of(admin.get("/admin/calendar"))
    assert 'name="starts" value="09:00"' in page and "在此设置" in page


def test_only_administrators_see_the_calendar(system, login):
    for user in ("owner", "gm", "agent1"):
        client = login(user)
        assert client.get("/admin/calendar").status_code == 403
        assert client.post("/admin/calendar/import", data={"year": "2026"}).status_code == 403
    assert _days(system) == {}
