"""The working calendar page in Chromium: the administrator's first page warns that 2027 has no holiday schedule,
the warning leads to the calendar, where a holiday and a make-up working day are entered and one removed,
2026 is copied from the holiday package, and a department's hours are changed — all with CSRF on, as served."""
from __future__ import annotations

from datetime import date, time

import pytest

from engine import workcalendar
from engine.db import UnitOfWork
from engine.models import CalendarDay, DepartmentHours
from tests.browser.navigation import submit
from tests.browser.test_desk import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _package_only():
    yield
    workcalendar.use(workcalendar.Schedule())


def _days(system, year: int) -> dict[date, tuple[str, str]]:
    with UnitOfWork(system.db, write=False) as uow:
        return {r.day: (r.kind, r.name) for r in uow.session.query(CalendarDay)
                if r.day.year == year}


def test_the_administrator_enters_the_2027_schedule_from_the_warning(system, live_server, pages):
    page = pages.open()
    sign_in(page, live_server, "admin")
    warning = page.locator('[data-calendar-warning="2027"]')
    assert "2027" in warning.inner_text()
    warning.locator("a").click()
    page.wait_for_url("**/admin/calendar?year=2027")
    assert page.locator('[data-source="none"] [role=alert]').is_visible()

    def enter(day: str, kind: str, name: str) -> None:
        form = page.locator("#day-form")
        form.locator("input[name=day]").fill(day)
        form.locator("select[name=kind]").select_option(kind)
        form.locator("input[name=name]").fill(name)
        submit(page, form.locator("button[type=submit]"))

    enter("2027-02-08", "holiday", "春节")
    enter("2027-02-09", "holiday", "春节")
    enter("2027-02-20", "workday", "春节调休")
    assert page.locator(".flash-success").is_visible()
    assert page.locator('[data-source="database"]').count() == 1
    assert page.locator("tr[data-day]").count() == 3
    submit(page, 'tr[data-day="2027-02-09"] button')
    assert page.locator("tr[data-day]").count() == 2
    assert _days(system, 2027) == {date(2027, 2, 8): ("holiday", "春节"), date(2027, 2, 20): ("workday", "春节调休")}
    # A day without a name is refused beside its field, nothing saved.
    enter("2027-02-10", "holiday", "")
    assert page.locator("#day-form .has-error input[name=name]").is_visible()
    assert date(2027, 2, 10) not in _days(system, 2027)

    # 2026 from the package, then the first page no longer warns.
    page.locator('a[rel="prev"]').click()
    page.wait_for_url("**/admin/calendar?year=2026")
    assert page.locator('[data-source="package"]').count() == 1
    submit(page, "#import-year")
    assert page.locator('[data-source="database"]').count() == 1 and len(_days(system, 2026)) == 39

    hours = page.locator("#hours-logistics")
    hours.locator("input[name=starts]").fill("09:00")
    hours.locator("input[name=ends]").fill("18:00")
    submit(page, hours.locator("button[type=submit]"))
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.get(DepartmentHours, "logistics")
    assert row is not None and (row.starts, row.ends) == (time(9), time(18))

    page.goto(f"{live_server}/home")
    assert page.locator("[data-calendar-warning]").count() == 0
