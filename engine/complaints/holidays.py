"""The company's working calendar, entered by the administrator: public holidays and 调休 make-up working
days per year, and departments' working hours. Deadlines counted in working time (engine/workcalendar.py)
use these first and the ``chinese-calendar`` package for years without entries (docs/data-dictionary.md,
"Working calendar")."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import chinese_calendar
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from engine import audit, clock, workcalendar
from engine.db import UnitOfWork, use_case
from engine.errors import Code, InvalidInput, NotFound
from engine.models import CalendarDay, DepartmentHours
from engine.people import departments
from engine.people.access import check_admin
from engine.people.roles import Actor
from forms.errors import FieldErrors, error
from forms.validate import text_errors

HOLIDAY, WORKDAY = "holiday", "workday"
KINDS = (HOLIDAY, WORKDAY)
MAX_NAME = 60
#: The years a day may be entered for.
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: How long before a year begins its missing schedule is warned about: limits counted from late in a year run
#: into the next, and the official schedule is published in the autumn.
WARN_AHEAD = timedelta(days=62)
#: The package's holiday names (English) in the regulation's language.
_PACKAGE_NAMES = {h.value: h.chinese for h in chinese_calendar.Holiday}


def schedule(session: Session) -> workcalendar.Schedule:
    """The administrator's entries as the calendar counts them."""
    # Plain columns, not rows: read before every step, so kept out of the session's identity map.
    days = {day: kind == WORKDAY for day, kind in session.execute(select(CalendarDay.day, CalendarDay.kind))}
    hours = {department: workcalendar.WorkingHours(starts, ends) for department, starts, ends in session.execute(
        select(DepartmentHours.department, DepartmentHours.starts, DepartmentHours.ends))}
    return workcalendar.Schedule(days=days, years=frozenset(d.year for d in days), hours=hours)


def install(session: Session) -> None:
    """Count deadlines with the database's calendar from now on: read before every workflow step, so every
    server process and timer worker follows the administrator's latest entries."""
    workcalendar.use(schedule(session))


def missing_years(session: Session, today: date) -> list[int]:
    """This year, and the next one once it is near, when neither the administrator nor the package has their
    holiday schedule (deadlines there count Monday to Friday: the first pages warn)."""
    years = [today.year] + ([today.year + 1] if date(today.year + 1, 1, 1) - today <= WARN_AHEAD else [])
    return [y for y in years if not _has_entries(session, y) and not workcalendar.package_covers(y)]


def _in_year(year: int):
    return CalendarDay.day.between(date(year, 1, 1), date(year, 12, 31))


def _has_entries(session: Session, year: int) -> bool:
    return session.scalar(select(CalendarDay.day).where(_in_year(year)).limit(1)) is not None


@dataclass(frozen=True)
class Day:
    day: date
    kind: str
    name: str


@dataclass(frozen=True)
class Year:
    """One year of the calendar as the administrator's page shows it."""

    year: int
    #: Where its working days come from: database (entries), package, or none (Monday to Friday).
    source: str
    #: The entries, or the package's days when the year has none.
    days: list[Day]
    package_has: bool


def package_days(year: int) -> list[Day]:
    """The package's holidays and make-up working days of `year` (empty when it does not cover it)."""
    if not workcalendar.package_covers(year):
        return []
    found = [Day(d, HOLIDAY, _PACKAGE_NAMES.get(n, n)) for d, n in chinese_calendar.holidays.items() if d.year == year]
    found += [Day(d, WORKDAY, _PACKAGE_NAMES.get(n, n)) for d, n in chinese_calendar.workdays.items() if d.year == year]
    return sorted(found, key=lambda d: d.day)


def year_view(uow: UnitOfWork, actor: Actor, year: int) -> Year:
    """The calendar of `year` (administrators)."""
    check_admin(actor)
    year = min(max(year, FIRST_YEAR), LAST_YEAR)
    rows = uow.session.scalars(select(CalendarDay).where(_in_year(year)).order_by(CalendarDay.day))
    entered = [Day(r.day, r.kind, r.name) for r in rows]
    package = package_days(year)
    if entered:
        return Year(year, "database", entered, bool(package))
    return Year(year, "package" if package else "none", package, bool(package))


def _day_errors(day: date | None, kind: str, name: str) -> FieldErrors:
    errors: FieldErrors = {}
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        errors["day"] = [error(Code.DAY_OUT_OF_RANGE, first=FIRST_YEAR, last=LAST_YEAR)]
    if kind not in KINDS:
        errors["kind"] = [error(Code.ONE_OF, options=", ".join(KINDS))]
    problems = text_errors(name.strip(), MAX_NAME)
    if problems:
        errors["name"] = problems
    return errors


@use_case
def set_day(uow: UnitOfWork, actor: Actor, day: date | None, kind: str, name: str) -> None:
    """An administrator enters a holiday or make-up working day (replacing what that day held). The first
    entry of a year makes the year count from its entries alone."""
    check_admin(actor)
    errors = _day_errors(day, kind, name)
    if errors:
        raise InvalidInput(errors)
    assert day is not None
    row = uow.session.get(CalendarDay, day) or CalendarDay(day=day)
    row.kind, row.name, row.entered_by_id, row.entered_at = kind, name.strip(), actor.id, clock.now()
    uow.session.add(row)
    audit.record(uow.session, None, actor, "calendar_day_set",
                 data={"day": day.isoformat(), "kind": kind, "name": name.strip()})


@use_case
def remove_day(uow: UnitOfWork, actor: Actor, day: date) -> None:
    """An administrator takes a day out of the calendar (the year's last entry: back to the package)."""
    check_admin(actor)
    row = uow.session.get(CalendarDay, day)
    if row is None:
        raise NotFound(Code.CALENDAR_DAY_NOT_FOUND, day=day.isoformat())
    uow.session.delete(row)
    audit.record(uow.session, None, actor, "calendar_day_removed", data={"day": day.isoformat()})


@use_case
def import_year(uow: UnitOfWork, actor: Actor, year: int) -> int:
    """An administrator copies the package's schedule of `year` into the calendar (replacing its entries),
    to adjust it from there. Returns how many days were entered."""
    check_admin(actor)
    days = package_days(year) if FIRST_YEAR <= year <= LAST_YEAR else []
    if not days:
        raise InvalidInput.field("year", Code.NO_PACKAGE_YEAR, year=year)
    uow.session.execute(delete(CalendarDay).where(_in_year(year)))
    now = clock.now()
    uow.session.add_all(CalendarDay(day=d.day, kind=d.kind, name=d.name, entered_by_id=actor.id, entered_at=now)
                        for d in days)
    audit.record(uow.session, None, actor, "calendar_year_imported", data={"year": year, "days": len(days)})
    return len(days)


@dataclass(frozen=True)
class Hours:
    department: str
    starts: time
    ends: time
    #: Set by the administrator (False: the code's default).
    entered: bool


def department_hours(uow: UnitOfWork, actor: Actor) -> list[Hours]:
    """Every department's working hours (administrators)."""
    check_admin(actor)
    entered = {r.department: r for r in uow.session.scalars(select(DepartmentHours))}
    shown = []
    for department in departments.codes(uow.session):
        row = entered.get(department)
        default = workcalendar.DEPARTMENT_HOURS.get(department, workcalendar.DEFAULT_HOURS)
        shown.append(Hours(department, row.starts, row.ends, True) if row is not None
                     else Hours(department, default.start, default.end, False))
    return shown


@use_case
def set_hours(uow: UnitOfWork, actor: Actor, department: str, starts: time | None, ends: time | None) -> None:
    """An administrator sets a department's working hours (one span per working day)."""
    check_admin(actor)
    errors: FieldErrors = {}
    errors.update(departments.choice_errors(uow.session, department, keep=department))
    if starts is None or ends is None or ends <= starts:
        errors["ends"] = [error(Code.HOURS_ORDER)]
    if errors:
        raise InvalidInput(errors)
    assert starts is not None and ends is not None
    row = uow.session.get(DepartmentHours, department) or DepartmentHours(department=department)
    row.starts, row.ends, row.entered_by_id, row.entered_at = starts, ends, actor.id, clock.now()
    uow.session.add(row)
    audit.record(uow.session, None, actor, "working_hours_set", data={
        "department": department, "starts": starts.isoformat("minutes"), "ends": ends.isoformat("minutes")})

