"""The company's working calendar (docs/data-dictionary.md, "Working calendar"): holidays and 调休 make-up working
days entered by the administrator come before the holiday package, travel to the sandbox workers that compute
deadlines, and a year nobody knows is warned about; departments' working hours likewise — on both backends."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock, workcalendar
from engine.complaints import holidays, timers
from engine.db import UnitOfWork
from engine.errors import Code, Forbidden, InvalidInput, NotFound
from engine.models import Penalty, Timer
from tests.lifecycle import approval_deadline

CN = ZoneInfo("Asia/Shanghai")
#: A 2027 Spring Festival as a company would enter it (the package stops at 2026): Monday 8 to Friday 12
#: February off, Saturday 20 February a make-up working day.
SPRING_FESTIVAL_2027 = [(date(2027, 2, d), holidays.HOLIDAY, "春节") for d in range(8, 13)] + [
    (date(2027, 2, 20), holidays.WORKDAY, "春节调休")]


@pytest.fixture(autouse=True)
def _package_only():
    """Each test starts and ends with the package's calendar (the schedule is process-wide)."""
    workcalendar.use(workcalendar.Schedule())
    yield
    workcalendar.use(workcalendar.Schedule())


def _enter(system, days) -> None:
    for day, kind, name in days:
        with UnitOfWork(system.db) as uow:
            holidays.set_day(uow, system.actor("admin"), day, kind, name)


def test_entered_spring_festival_moves_deadlines_and_its_make_up_saturday_counts(system):
    friday = datetime(2027, 2, 5, 17, 0, tzinfo=CN)
    # Nothing entered, no package data: Monday to Friday (the gap the first pages warn about).
    assert approval_deadline(system, friday) == datetime(2027, 2, 8, 10, 0, tzinfo=CN)
    _enter(system, SPRING_FESTIVAL_2027)
    # Half an hour on Friday, the holiday week skipped, 1.5 hours on Monday the 15th — computed in a sandbox
    # worker, which got the calendar with the model's functions.
    assert approval_deadline(system, friday) == datetime(2027, 2, 15, 10, 0, tzinfo=CN)
    assert approval_deadline(system, datetime(2027, 2, 19, 17, 0, tzinfo=CN)) == datetime(2027, 2, 20, 10, 0, tzinfo=CN)


def test_a_year_entered_counts_from_its_entries_alone(system):
    # 2026 is in the package (1–7 October off); one entry makes the administrator's list the whole truth.
    assert not workcalendar.is_working_day(date(2026, 10, 1))
    _enter(system, [(date(2026, 12, 31), holidays.HOLIDAY, "公司年会")])
    with UnitOfWork(system.db, write=False) as uow:
        holidays.install(uow.session)
        view = holidays.year_view(uow, system.actor("admin"), 2026)
    assert workcalendar.is_working_day(date(2026, 10, 1)) and not workcalendar.is_working_day(date(2026, 12, 31))
    assert not workcalendar.is_working_day(date(2026, 12, 26))  # a Saturday
    assert view.source == "database" and view.package_has and [d.name for d in view.days] == ["公司年会"]


def test_importing_a_year_copies_the_package_and_removing_the_last_day_hands_it_back(system):
    admin = system.actor("admin")
    with UnitOfWork(system.db) as uow:
        assert holidays.import_year(uow, admin, 2026) == 39  # 33 holidays, 6 make-up working days
    with UnitOfWork(system.db, write=False) as uow:
        view = holidays.year_view(uow, admin, 2026)
    assert view.source == "database" and len(view.days) == 39
    assert (date(2026, 10, 10), holidays.WORKDAY, "国庆节") in [(d.day, d.kind, d.name) for d in view.days]
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput) as refused:
        holidays.import_year(uow, admin, 2027)
    assert refused.value.errors["year"][0].code == Code.NO_PACKAGE_YEAR
    for day in [d.day for d in view.days]:
        with UnitOfWork(system.db) as uow:
            holidays.remove_day(uow, admin, day)
    with UnitOfWork(system.db, write=False) as uow:
        assert holidays.year_view(uow, admin, 2026).source == "package"
    with UnitOfWork(system.db) as uow, pytest.raises(NotFound):
        holidays.remove_day(uow, admin, date(2026, 10, 10))


def test_entries_are_checked_and_only_administrators_make_them(system):
    admin = system.actor("admin")
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput) as refused:
        holidays.set_day(uow, admin, date(1999, 1, 1), "weekend", " ")
    assert {k: v[0].code for k, v in refused.value.errors.items()} == {
        "day": Code.DAY_OUT_OF_RANGE, "kind": Code.ONE_OF, "name": "required"}
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput) as refused:
        holidays.set_hours(uow, admin, "logistics", time(18, 0), time(9, 0))
    assert refused.value.errors["ends"][0].code == Code.HOURS_ORDER
    for call in (lambda uow, who: holidays.set_day(uow, who, date(2027, 1, 1), holidays.HOLIDAY, "元旦"),
                 lambda uow, who: holidays.import_year(uow, who, 2026),
                 lambda uow, who: holidays.set_hours(uow, who, "logistics", time(9), time(18))):
        for user in ("owner", "gm", "agent1"):
            with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
                call(uow, system.actor(user))


def test_the_missing_schedule_is_warned_about_this_year_and_the_next_once_near(system):
    with UnitOfWork(system.db, write=False) as uow:
        assert holidays.missing_years(uow.session, date(2026, 12, 4)) == [2027]
        assert holidays.missing_years(uow.session, date(2026, 6, 1)) == []  # 2027 still far
        assert holidays.missing_years(uow.session, date(2027, 3, 1)) == [2027]
    _enter(system, SPRING_FESTIVAL_2027)
    with UnitOfWork(system.db, write=False) as uow:
        assert holidays.missing_years(uow.session, date(2026, 12, 4)) == []


def test_department_hours_set_by_the_administrator_count(system):
    monday = datetime(2026, 11, 23, 17, 0, tzinfo=CN)
    assert workcalendar.add_working_time(monday, timedelta(hours=2), "logistics") == monday + timedelta(hours=2)
    with UnitOfWork(system.db) as uow:
        holidays.set_hours(uow, system.actor("admin"), "logistics", time(9, 0), time(18, 0))
    with UnitOfWork(system.db, write=False) as uow:
        holidays.install(uow.session)
        shown = {h.department: h for h in holidays.department_hours(uow, system.actor("admin"))}
    assert workcalendar.add_working_time(monday, timedelta(hours=2), "logistics") == \
        datetime(2026, 11, 24, 10, 0, tzinfo=CN)
    assert shown["logistics"].entered and (shown["logistics"].starts, shown["logistics"].ends) == (time(9), time(18))
    assert not shown["quality"].entered and shown["quality"].starts == time(8, 30)  # the default


def test_a_deadline_already_set_keeps_its_due_time_when_the_calendar_changes(system):
    friday = datetime(2027, 2, 5, 17, 0, tzinfo=CN)
    monday, after_the_holiday = datetime(2027, 2, 8, 10, 0, tzinfo=CN), datetime(2027, 2, 15, 10, 0, tzinfo=CN)
    assert approval_deadline(system, friday) == monday  # no 2027 schedule yet: Monday to Friday
    _enter(system, SPRING_FESTIVAL_2027)  # entered late, on Friday evening
    # Proposed after the change: counted with it. Already running: kept, and it passes on the holiday's Monday
    # (docs/data-dictionary.md, §14b: the holder asks for a deferral before it does).
    assert approval_deadline(system, friday) == after_the_holiday
    with UnitOfWork(system.db, write=False) as uow:
        due = sorted(uow.session.scalars(select(Timer.due_at).where(Timer.name == "approve_solution_deadline")))
    assert due == [monday, after_the_holiday]
    clock.set_now(monday + timedelta(seconds=1))
    timers.run_due(system.db)
    with UnitOfWork(system.db, write=False) as uow:
        assert list(uow.session.scalars(select(Penalty.deadline).where(Penalty.task_name == "approve_solution"))) \
            == [monday]
