"""Report figures against a generated data set whose true values the test works out by itself."""
from __future__ import annotations

import math
import statistics
from collections import Counter
from datetime import date, datetime

import pytest

from engine.complaints import reports
from engine.db import UnitOfWork
from engine.errors import Forbidden, InvalidInput
from tests.lifecycle import start, step
from tests.reports.conftest import TZ, generated

DAY = date(2026, 11, 10)
MONTH = (datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ))
BEFORE = (datetime(2026, 10, 1, tzinfo=TZ), datetime(2026, 11, 1, tzinfo=TZ))
LIMITS = {"dissatisfied": 1800, "very_dissatisfied": 1200, "major": 600, "crisis": 600}


@pytest.fixture
def data(system):
    # From late September to the frozen "now" (23 November), so both months have data and edges.
    return generated(system, 900, datetime(2026, 9, 20, tzinfo=TZ), seed=11)


def build(system, user="gm", kind="month", day=DAY, department=None):
    with UnitOfWork(system.db, write=False) as uow:
        return reports.build_report(uow, system.actor(user), kind, day, TZ, department)


def within(rows, column, span, department=None):
    return [r for r in rows if r[column] is not None and span[0] <= r[column] < span[1]
            and (department is None or r["department"] == department)]


def nearest_rank(values, share):
    ordered = sorted(values)
    return ordered[math.ceil(share * len(ordered)) - 1]


def test_counts_and_breakdowns_match_the_data(system, data):
    report = build(system)
    now, then = within(data.complaints, "created_at", MONTH), within(data.complaints, "created_at", BEFORE)
    assert (report.total.current, report.total.previous) == (len(now), len(then))
    assert report.total.delta == len(now) - len(then)
    assert report.total.pct == pytest.approx(100 * (len(now) - len(then)) / len(then))
    for name, figures in (("category", report.by_category), ("level", report.by_level),
                          ("department", report.by_department), ("channel", report.by_channel)):
        expected_now, expected_then = Counter(r[name] for r in now), Counter(r[name] for r in then)
        got = {f.key: (f.current, f.previous) for f in figures}
        assert got == {k: (expected_now[k], expected_then[k]) for k in set(expected_now) | set(expected_then)}
        assert [f.current for f in figures] == sorted((f.current for f in figures), reverse=True)
    judged = [r for r in now if r["valid"] is not None]
    assert report.validity_rate.current == pytest.approx(sum(r["valid"] for r in judged) / len(judged))


def test_first_response_percentiles_against_the_policy_limits(system, data):
    report = build(system)
    now = within(data.complaints, "created_at", MONTH)
    table = {row.level: row for row in report.first_response}
    assert {lv: table[lv].limit for lv in LIMITS} == LIMITS
    for level, limit in LIMITS.items():
        seconds = [(r["first_response_at"] - r["created_at"]).total_seconds() for r in now
                   if r["level"] == level and r["first_response_at"]]
        row = table[level]
        assert row.responded.current == len(seconds)
        assert row.median.current == pytest.approx(statistics.median(seconds))
        assert row.p90.current == pytest.approx(nearest_rank(seconds, 0.9))
        assert row.within_limit.current == sum(1 for s in seconds if s <= limit)
    everyone = [(r["first_response_at"] - r["created_at"]).total_seconds()
                for r in now if r["first_response_at"]]
    assert table[reports.ALL].median.current == pytest.approx(statistics.median(everyone))
    assert table[reports.ALL].waiting.current == sum(1 for r in now if r["first_response_at"] is None)


def test_penalties_rounds_satisfaction_repeats_and_causes(system, data):
    report = build(system)
    penalties = within(data.penalties, "recorded_at", MONTH)
    assert report.breaches.current == len(penalties)
    assert report.penalty_amount.current == sum(p["amount"] for p in penalties)
    by_person = Counter()
    for p in penalties:
        by_person[p["person_id"]] += p["amount"]
    with UnitOfWork(system.db, write=False) as uow:
        from engine.models import User
        names = {u.id: u.username for u in uow.session.query(User)}
    assert {r.key: r.amount.current for r in report.penalties_by_person if r.amount.current} == {
        names[k]: v for k, v in by_person.items()}

    closed = within(data.complaints, "closed_at", MONTH)
    rounds = [r["round"] for r in closed if r["round"] is not None]
    assert report.closed.current == len(closed)
    assert report.rounds_average.current == pytest.approx(sum(rounds) / len(rounds))
    assert {f.key: f.current for f in report.rounds if f.current} == {
        str(k): v for k, v in Counter(rounds).items()}
    answered = [r["satisfied"] for r in closed if r["satisfied"] is not None]
    assert report.satisfaction_rate.current == pytest.approx(sum(answered) / len(answered))

    now = within(data.complaints, "created_at", MONTH)
    contacts = Counter(r["customer_contact"] for r in now)
    repeats = {c: n for c, n in contacts.items() if n > 1}
    assert report.repeat_complainants.current == len(repeats)
    assert report.repeat_complaints.current == sum(repeats.values())
    assert all(repeats[r.contact] == r.complaints for r in report.top_repeat)

    causes = Counter(r["cause"] for r in now if r["cause"])
    top = report.top_causes
    assert len(top) == reports.TOP
    assert [f.current for f in top] == sorted(causes.values(), reverse=True)[:reports.TOP]
    assert all(causes[f.key] == f.current for f in top)
    surveys = within(data.surveys, "submitted_at", MONTH)
    assert report.surveys.current == len(surveys)
    assert report.survey_rating.current == pytest.approx(sum(s["rating"] for s in surveys) / len(surveys))


def test_department_heads_see_their_department_only(system, data):
    report = build(system, "head_logistics")
    now = within(data.complaints, "created_at", MONTH, "logistics")
    assert report.department == "logistics" and report.total.current == len(now)
    assert {f.key for f in report.by_department} == {"logistics"}
    department = {c["id"]: c["department"] for c in data.complaints}
    penalties = [p for p in within(data.penalties, "recorded_at", MONTH)
                 if department[p["complaint_id"]] == "logistics"]
    assert report.breaches.current == len(penalties)
    with pytest.raises(Forbidden):
        build(system, "head_logistics", department="quality")
    with pytest.raises(Forbidden):
        build(system, "owner")
    assert build(system, "gm", department="quality").total.current == len(
        within(data.complaints, "created_at", MONTH, "quality"))


@pytest.mark.parametrize("kind, first, days", [
    ("week", date(2026, 11, 9), 7), ("month", date(2026, 11, 1), 30), ("year", date(2026, 1, 1), 12)])
def test_periods_and_timeline(system, data, kind, first, days):
    report = build(system, kind=kind)
    assert report.period.first_day == first and len(report.timeline) == days
    assert sum(f.current or 0 for f in report.timeline) == report.total.current
    future = [f.key for f in report.timeline if f.current is None]  # after "today", 23 November
    assert all(key > "2026-11-23" for key in future) and (kind == "week" or future)
    assert report.previous.end == report.period.start


def test_unknown_period_is_invalid(system):
    with pytest.raises(InvalidInput):
        build(system, kind="decade")


def test_a_real_complaint_is_counted_with_its_cause(system):
    cid = start(system).complaint_id
    for name in ("judge_validity", "hand_over", "analyse_and_propose"):
        step(system, cid, name)
    report = build(system, day=date(2026, 11, 23))
    assert report.total.current == 1
    assert [(f.key, f.current) for f in report.top_causes] == [("运输途中挤压", 1)]
    table = {row.level: row for row in report.first_response}
    assert table["dissatisfied"].responded.current == 1 and table["dissatisfied"].median.current == 0
    assert report.period.first_day == date(2026, 11, 1)
