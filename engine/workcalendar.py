"""Working time and quiet hours: how the model's deadline functions turn a limit into a due time.

Three ways to count a limit (the policy table names one per limit, docs/data-dictionary.md):

- ``clock``: calendar time, as the regulation's minutes and hours read;
- ``working``: working time of the department — its working hours on working days. Working days are the
  Chinese public-holiday schedule with its 调休 make-up working days. The company's own schedule comes first:
  a year with days entered by the administrator (`Schedule`, stored in the database and installed by
  `engine.complaints.holidays`) is taken from those entries alone, any other weekday being a working day.
  A year without entries is taken from the ``chinese-calendar`` package. For a year neither knows, Monday to
  Friday are working days, ``covered(year)`` says so, a warning is logged once for that year and the
  administrator's and process owner's first pages warn (docs/data-dictionary.md, "Working calendar");
- ``daytime``: calendar time, but a moment that falls in the quiet hours (21:00–08:00), when customers are not
  called, moves to the end of the quiet hours.

All arithmetic is done in the staff's time zone (`configure`), results are returned in UTC.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from engine.errors import BadModelValue, Code

BASES = ("clock", "working", "daytime")
log = logging.getLogger(__name__)
_warned_years: set[int] = set()


@dataclass(frozen=True)
class WorkingHours:
    """One department's working hours on a working day (a single span, local time)."""

    start: time
    end: time

    @property
    def length(self) -> timedelta:
        return datetime.combine(date.min, self.end) - datetime.combine(date.min, self.start)


DEFAULT_HOURS = WorkingHours(time(8, 30), time(17, 30))
#: Departments whose hours differ from the default (the warehouse ships in the evening); the administrator's
#: entries (`Schedule.hours`) come first.
DEPARTMENT_HOURS: dict[str, WorkingHours] = {"logistics": WorkingHours(time(8, 0), time(20, 0))}
QUIET_START = time(21, 0)
QUIET_END = time(8, 0)


@dataclass(frozen=True, eq=False)
class Schedule:
    """The company's own calendar, as the administrator entered it: what comes before the package."""

    #: Entered days: False for a public holiday, True for a 调休 make-up working day.
    days: Mapping[date, bool] = field(default_factory=dict)
    #: The years with entries: their other days follow the week (Monday to Friday work), never the package.
    years: frozenset[int] = frozenset()
    #: Departments' working hours set by the administrator.
    hours: Mapping[str, WorkingHours] = field(default_factory=dict)


_zone = ZoneInfo("Asia/Shanghai")
_schedule = Schedule()


def configure(timezone: str) -> None:
    """Count working days and quiet hours in `timezone` (the staff's zone, settings.display_timezone)."""
    global _zone
    _zone = ZoneInfo(timezone)


def zone_name() -> str:
    """The configured time zone's name."""
    return _zone.key


def use(schedule: Schedule) -> None:
    """Count with `schedule` from now on (the database's, read before a workflow step; a worker's, sent)."""
    global _schedule
    _schedule = schedule


def current() -> Schedule:
    """The schedule counted with now."""
    return _schedule


def package_covers(year: int) -> bool:
    """Does the holiday package know the official schedule (holidays and 调休) of `year`?"""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def covered(year: int) -> bool:
    """Is the official schedule of `year` known: entered by the administrator or in the package?"""
    return year in _schedule.years or package_covers(year)


def is_working_day(day: date) -> bool:
    """A working day: not a public holiday, not a weekend unless it is a 调休 make-up working day."""
    if day.year in _schedule.years:
        return _schedule.days.get(day, day.weekday() < 5)
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:  # a year nobody knows yet: weekdays only (the first pages warn)
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no holiday schedule for %s (neither entered nor in chinese-calendar): counting Monday "
                        "to Friday as working days; enter it on the administrator's working calendar page",
                        day.year)
        return day.weekday() < 5


def hours_of(department: str | None) -> WorkingHours:
    """The working hours of a department (the default when it has none of its own)."""
    key = department or ""
    return _schedule.hours.get(key) or DEPARTMENT_HOURS.get(key, DEFAULT_HOURS)


def add_working_time(start: datetime, duration: timedelta, department: str | None = None) -> datetime:
    """The moment `duration` of the department's working time after `start` has passed."""
    hours = hours_of(department)
    local = start.astimezone(_zone)
    remaining = duration
    day = local.date()
    moment = local
    for _ in range(3660):  # ten years of days bounds any limit a policy can hold
        if is_working_day(day):
            opens = datetime.combine(day, hours.start, _zone)
            closes = datetime.combine(day, hours.end, _zone)
            begin = max(moment, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(UTC)
                remaining -= available
        day += timedelta(days=1)
        moment = datetime.combine(day, time(0), _zone)
    raise BadModelValue(f"working time {duration} after {start.isoformat()} is more than ten years away",
                        Code.RUN_WORKING_TIME_TOO_FAR, duration=str(duration), start=start.isoformat())


def out_of_quiet_hours(moment: datetime) -> datetime:
    """`moment`, or the end of the quiet hours when it falls inside them (customers are not called then)."""
    local = moment.astimezone(_zone)
    if local.time() >= QUIET_START:
        return datetime.combine(local.date() + timedelta(days=1), QUIET_END, _zone).astimezone(UTC)
    if local.time() < QUIET_END:
        return datetime.combine(local.date(), QUIET_END, _zone).astimezone(UTC)
    return moment.astimezone(UTC)


def due(start: datetime, duration: timedelta, basis: str = "clock", department: str | None = None) -> datetime:
    """When a limit of `duration` counted from `start` on `basis` (clock, working, daytime) runs out."""
    if basis == "clock":
        return (start + duration).astimezone(UTC)
    if basis == "working":
        return add_working_time(start, duration, department)
    if basis == "daytime":
        return out_of_quiet_hours(start + duration)
    raise BadModelValue(f"time basis {basis!r}: use one of {', '.join(BASES)}", Code.RUN_UNKNOWN_BASIS,
                        basis=str(basis), bases=" / ".join(BASES))
