"""Working time, quiet hours and the deadline functions models call (docs/data-dictionary.md, "Time limits")."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine import workcalendar
from engine.workflow.functions import call_time, day_after, deadline, no_deadline, warning

CN = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=CN)


@pytest.fixture(autouse=True)
def _package_only():
    """The package's calendar alone (the administrator's entries are tests/unit/test_working_calendar.py's)."""
    workcalendar.use(workcalendar.Schedule())


def test_the_holiday_package_covers_this_year_and_says_when_it_does_not(caplog):
    assert workcalendar.covered(2026)
    assert not workcalendar.covered(2100)
    # A year without the official schedule: Monday to Friday, so deadlines still come (and the gap is visible).
    assert workcalendar.is_working_day(date(2100, 1, 4)) and not workcalendar.is_working_day(date(2100, 1, 2))
    assert [r.getMessage() for r in caplog.records].count(
        "no holiday schedule for 2100 (neither entered nor in chinese-calendar): counting Monday to Friday as "
        "working days; enter it on the administrator's working calendar page") == 1  # once a year, not per deadline


def test_national_day_holiday_and_its_make_up_saturday():
    # 2026: 1–7 October are holidays; Saturday 10 October is a 调休 make-up working day.
    assert not workcalendar.is_working_day(date(2026, 10, 1))
    assert workcalendar.is_working_day(date(2026, 10, 10))
    assert not workcalendar.is_working_day(date(2026, 10, 11))
    # 12 working hours from Wednesday 30 September 17:00 (default hours 08:30–17:30, 9 h a day):
    # 0.5 h on the 30th, nothing on 1–7 October, 9 h on Thursday the 8th, the last 2.5 h on Friday the 9th.
    due = workcalendar.add_working_time(local(2026, 9, 30, 17, 0), timedelta(hours=12))
    assert due == local(2026, 10, 9, 11, 0)
    # From Friday the 9th 17:00, 2 working hours end on the make-up Saturday, not on Monday.
    assert workcalendar.add_working_time(local(2026, 10, 9, 17, 0), timedelta(hours=2)) == local(2026, 10, 10, 10, 0)


def test_working_time_follows_the_department_hours():
    start = local(2026, 11, 23, 17, 0)  # a Monday
    assert workcalendar.add_working_time(start, timedelta(hours=2)) == local(2026, 11, 24, 10, 0)
    assert workcalendar.add_working_time(start, timedelta(hours=2), "logistics") == local(2026, 11, 23, 19, 0)
    before_opening = local(2026, 11, 23, 6, 0)
    assert workcalendar.add_working_time(before_opening, timedelta(minutes=30)) == local(2026, 11, 23, 9, 0)


@pytest.mark.parametrize(("moment", "moved"), [
    (local(2026, 11, 23, 20, 59), local(2026, 11, 23, 20, 59)),
    (local(2026, 11, 23, 21, 0), local(2026, 11, 24, 8, 0)),
    (local(2026, 11, 24, 3, 30), local(2026, 11, 24, 8, 0)),
    (local(2026, 11, 24, 8, 0), local(2026, 11, 24, 8, 0)),
])
def test_customer_calls_leave_the_quiet_hours(moment, moved):
    assert workcalendar.out_of_quiet_hours(moment) == moved


def test_model_functions_count_from_the_given_start():
    received = "2026-11-23T08:00:00+08:00"
    assert datetime.fromisoformat(deadline(received, "PT30M")) == local(2026, 11, 23, 8, 30)
    assert datetime.fromisoformat(warning(received, "PT30M", 0.8)) == local(2026, 11, 23, 8, 24)
    # A progress call due at 21:10 moves to 08:00; its warning keeps the same distance before it.
    assert datetime.fromisoformat(call_time("2026-11-23T20:30:00+08:00", "PT40M")) == local(2026, 11, 24, 8, 0)
    assert datetime.fromisoformat(warning("2026-11-23T20:30:00+08:00", "PT40M", 0.75, "daytime")) == \
        local(2026, 11, 24, 7, 50)
    assert datetime.fromisoformat(no_deadline()).year == 9999
    assert datetime.fromisoformat(deadline("2026-11-23T00:00:00", "PT1H")).tzinfo is not None  # naive = UTC


def test_an_unknown_basis_is_refused_by_name():
    with pytest.raises(ValueError, match="time basis 'weekly'"):
        workcalendar.due(datetime(2026, 11, 23, tzinfo=UTC), timedelta(hours=1), "weekly")


def test_day_after_is_the_next_local_midnight_in_utc():
    """The 15 days after 交易成功 count from the start of the next day where the staff are (Asia/Shanghai)."""
    assert day_after("2026-11-13") == "2026-11-13T16:00:00+00:00"
    assert datetime.fromisoformat(deadline(day_after("2026-11-13"), "P15D")) == local(2026, 11, 29, 0, 0)
