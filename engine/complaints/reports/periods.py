"""Report periods: calendar weeks (from Monday), months and years in the staff's time zone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from engine.errors import Code, InvalidInput

KINDS = ("week", "month", "year")
#: Reports cover these years (the previous period of the first must still be a real date).
FIRST_YEAR, LAST_YEAR = 1971, 9998


@dataclass(frozen=True)
class Period:
    """A calendar week (from Monday), month or year in the report's time zone; `start`/`end` in UTC."""

    kind: str
    first_day: date
    start: datetime
    end: datetime

    def previous(self, tz: tzinfo) -> Period:
        return period_of(self.kind, self.first_day - timedelta(days=1), tz)

    def buckets(self, tz: tzinfo) -> list[date]:
        """The first day of each bar of the period's time chart: days, or months of a year."""
        if self.kind == "year":
            return [date(self.first_day.year, m, 1) for m in range(1, 13)]
        last = (self.end.astimezone(tz) - timedelta(microseconds=1)).date()
        return [self.first_day + timedelta(days=i) for i in range((last - self.first_day).days + 1)]

    def bucket_of(self, moment: datetime, tz: tzinfo) -> int:
        local = moment.astimezone(tz).date()
        return local.month - 1 if self.kind == "year" else (local - self.first_day).days


def period_of(kind: str, day: date, tz: tzinfo) -> Period:
    """The period of `kind` that contains `day` (of the years FIRST_YEAR to LAST_YEAR)."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise InvalidInput.field("date", Code.DAY_OUT_OF_RANGE, first=FIRST_YEAR, last=LAST_YEAR)
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    elif kind == "month":
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    elif kind == "year":
        first = date(day.year, 1, 1)
        after = date(day.year + 1, 1, 1)
    else:
        raise InvalidInput.field("period", Code.ONE_OF, options=", ".join(KINDS))
    return Period(kind=kind, first_day=first, start=_utc(first, tz), end=_utc(after, tz))


def _utc(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)
