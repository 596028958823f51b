"""The working calendar: holidays and make-up working days, and departments' working hours."""
from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import Date, ForeignKey, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from engine.models.base import Base


class CalendarDay(Base):
    """A day of the company's working calendar that differs from the week: a public holiday, or a 调休
    make-up working day on a weekend. A year with any entry is counted from its entries alone
    (engine/workcalendar.py; docs/data-dictionary.md, "Working calendar")."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: holiday or workday
    kind: Mapped[str] = mapped_column(String(10))
    #: What the day is for, as the official schedule names it (春节, 国庆节).
    name: Mapped[str] = mapped_column(String(60))
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime]


class DepartmentHours(Base):
    """A department's working hours set by the administrator (the code's defaults otherwise)."""

    __tablename__ = "department_hours"

    department: Mapped[str] = mapped_column(String(40), primary_key=True)
    starts: Mapped[time] = mapped_column(Time)
    ends: Mapped[time] = mapped_column(Time)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entered_at: Mapped[datetime]
