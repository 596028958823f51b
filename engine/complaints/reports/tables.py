"""Figures and tables made from the rows of both periods: breakdowns side by side, response times against
the limits, the daily (monthly) timeline, rounds, satisfaction and the penalty ledger."""
from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.complaints.reports.figures import Figure, PenaltyRow, ResponseTimes
from engine.complaints.reports.periods import Period
from engine.models import User

#: The "all levels" row of the first-response table.
ALL = "*"


def compare(current: dict, previous: dict, order: str = "count") -> list[Figure]:
    """Group counts of both periods side by side: most frequent now first (or by key)."""
    keys = set(current) | set(previous)
    if order == "key":
        ordered = sorted(keys, key=str)
    else:
        ordered = sorted(keys, key=lambda k: (-current.get(k, 0), -previous.get(k, 0), str(k)))
    return [Figure(current.get(k, 0), previous.get(k, 0), key=k if k is None else str(k)) for k in ordered]


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _response_stats(rows: Sequence[Any], level: str, limit: float | None, end: datetime) -> dict:
    chosen = [r for r in rows if level == ALL or r[0] == level]
    seconds = [(r[2] - r[1]).total_seconds() for r in chosen if r[2] is not None]
    waiting = [r for r in chosen if r[2] is None]
    stats: dict[str, float | None] = {
        "responded": len(seconds), "median": statistics.median(seconds) if seconds else None,
        "p90": percentile(seconds, 0.9), "waiting": len(waiting)}
    if level != ALL and limit is not None:
        within = sum(1 for s in seconds if s <= limit)
        # Not answered by the end of the period and already past the limit counts as a breach too.
        late = sum(1 for r in waiting if (min(end, clock.now()) - r[1]).total_seconds() > limit)
        stats.update(within=within, breached=len(seconds) - within + late)
    return stats


def response_table(cur: Sequence[Any], prev: Sequence[Any], limits: dict[str, float], cur_end: datetime,
                    prev_end: datetime) -> list[ResponseTimes]:
    levels = sorted({r[0] for r in cur} | {r[0] for r in prev} | set(limits),
                    key=lambda lv: (list(limits).index(lv) if lv in limits else len(limits), lv))
    table = []
    totals = {"within": [0, 0], "breached": [0, 0]}
    for level in [*levels, ALL]:
        limit = limits.get(level)
        now_stats = _response_stats(cur, level, limit, cur_end)
        then_stats = _response_stats(prev, level, limit, prev_end)
        if level == ALL:
            now_stats.update(within=totals["within"][0], breached=totals["breached"][0])
            then_stats.update(within=totals["within"][1], breached=totals["breached"][1])
        else:
            for name in totals:
                totals[name][0] += now_stats.get(name, 0)
                totals[name][1] += then_stats.get(name, 0)
        table.append(ResponseTimes(
            level=level, limit=limit,
            **{name: Figure(now_stats.get(source), then_stats.get(source)) for name, source in (
                ("responded", "responded"), ("median", "median"), ("p90", "p90"),
                ("within_limit", "within"), ("breached", "breached"), ("waiting", "waiting"))},
        ))
    return table


def timeline(cur: Sequence[Any], prev: Sequence[Any], period: Period, before: Period, tz: tzinfo) -> list[Figure]:
    """New complaints per day (per month for a year), this period against the same position in the last;
    days (months) after today have no current figure."""
    now_counts = [0] * len(period.buckets(tz))
    then_counts = [0] * len(before.buckets(tz))
    for rows, counts, span in ((cur, now_counts, period), (prev, then_counts, before)):
        for row in rows:
            index = span.bucket_of(row[1], tz)
            if 0 <= index < len(counts):
                counts[index] += 1
    today = clock.now().astimezone(tz).date()
    # Days still to come have no figure yet (rather than a misleading zero).
    return [Figure(n if day <= today else None, then_counts[i] if i < len(then_counts) else None,
                   key=day.isoformat())
            for i, (n, day) in enumerate(zip(now_counts, period.buckets(tz), strict=True))]


def rounds_average(closed: dict[tuple, int]) -> float | None:
    handled = [(r, n) for (r, _s), n in closed.items() if r is not None]
    count = sum(n for _r, n in handled)
    return sum(r * n for r, n in handled) / count if count else None


def rounds_histogram(closed: dict[tuple, int]) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for (rounds, _s), n in closed.items():
        if rounds is not None:
            counts[rounds] += n
    return dict(counts)


def satisfaction(closed: dict[tuple, int]) -> float | None:
    answered = sum(n for (_r, s), n in closed.items() if s is not None)
    return sum(n for (_r, s), n in closed.items() if s is True) / answered if answered else None


def penalty_rows(session: Session, cur: list, prev: list, by_person: bool) -> list[PenaltyRow]:
    def group(rows):
        out: dict = defaultdict(lambda: [0, 0])
        for person, dept, count, amount in rows:
            key = (person, dept) if by_person else dept
            out[key][0] += count
            out[key][1] += amount
        return out

    now_groups, then_groups = group(cur), group(prev)
    names: dict[int, str] = {}
    if by_person:
        ids = {k[0][0] for k in (*now_groups, *then_groups) if k[0][0] is not None}
        if ids:
            names = dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())
    keys = sorted(set(now_groups) | set(then_groups),
                  key=lambda k: (-now_groups.get(k, [0, 0])[1], -then_groups.get(k, [0, 0])[1], str(k)))
    rows = []
    for key in keys:
        now_v, then_v = now_groups.get(key, [0, 0]), then_groups.get(key, [0, 0])
        if by_person:
            (person_id, person_name), dept = key
            label = names.get(person_id) or person_name or ""
        else:
            dept, label = key, key or ""
        rows.append(PenaltyRow(key=label, department=dept, breaches=Figure(now_v[0], then_v[0]),
                               amount=Figure(now_v[1], then_v[1])))
    return rows
