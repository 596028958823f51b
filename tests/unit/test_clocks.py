"""The regulation's clocks through the engine (DOMAIN §4 as docs/data-dictionary.md states it): every limit
fires at its minute for each level, counted from the time of receipt (受理时间), on both backends, with time moved
by the program's one clock."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from engine import clock
from engine.complaints import casework, intake, tasks, timers
from engine.config import load_settings
from engine.db import UnitOfWork
from engine.errors import Code, InvalidInput
from engine.models import Notification, Penalty, Timer, WorkTask
from tests.lifecycle import ANSWERS, INTAKE, LINK_SECRET, WORKER, approval_deadline, open_task, start, step

CN = ZoneInfo("Asia/Shanghai")
#: level: first response limit, deduction per timeout (DOMAIN §4), approval limit and how it is counted (policy).
LEVELS = {
    "dissatisfied": (timedelta(minutes=30), 20, "working"),
    "very_dissatisfied": (timedelta(minutes=20), 30, "working"),
    "major": (timedelta(minutes=10), 50, "clock"),
    "crisis": (timedelta(minutes=10), 80, "clock"),
}
SECOND = timedelta(seconds=1)


def timer(system, cid: int, name: str) -> Timer:
    with UnitOfWork(system.db, write=False) as uow:
        rows = list(uow.session.scalars(select(Timer).where(Timer.complaint_id == cid, Timer.name == name)
                                        .order_by(Timer.due_at.desc())))
    assert rows, f"no timer {name}"
    return rows[0]


def penalties(system, cid: int) -> list[tuple[str, str, int]]:
    """(task, timer, amount) of every timeout recorded for the complaint, in order."""
    with UnitOfWork(system.db, write=False) as uow:
        rows = uow.session.execute(select(Penalty.task_name, Timer.name, Penalty.amount)
                                   .join(Timer, Timer.id == Penalty.timer_id)
                                   .where(Penalty.complaint_id == cid).order_by(Penalty.id)).all()
    return [tuple(r) for r in rows]


def fires_at(system, cid: int, name: str, due: datetime, amount: int | None) -> None:
    """The timer `name` is due at `due`: still waiting a second before, fired (and penalised when it is a
    deadline) a second after — within the minute the limit names."""
    row = timer(system, cid, name)
    assert row.due_at == due, (name, row.due_at, due)
    before = len(penalties(system, cid))
    clock.set_now(due - SECOND)
    timers.run_due(system.db)
    assert timer(system, cid, name).status == "waiting", name
    clock.set_now(due + SECOND)
    timers.run_due(system.db)
    assert timer(system, cid, name).status == "fired", name
    recorded = penalties(system, cid)[before:]
    if amount is None:
        assert recorded == []
    else:
        assert [(t, a) for _task, t, a in recorded] == [(name, amount)]


def timed_out(system, cid: int, name: str, due: datetime, amount: int | None) -> None:
    """The timer `name`, due at `due`, fires at that minute — or fired at once if `due` had passed when its
    task opened (a timeout at once, not a fresh clock)."""
    if due > clock.now():
        fires_at(system, cid, name, due, amount)
        return
    row = timer(system, cid, name)
    assert (row.due_at, row.status) == (due, "fired")
    recorded = [a for _task, t, a in penalties(system, cid) if t == name]
    assert recorded == ([] if amount is None else [amount])


def due_of(system, cid: int, task: str) -> datetime:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalars(select(WorkTask.due_at).where(
            WorkTask.complaint_id == cid, WorkTask.name == task, WorkTask.status == "open")).one()


def escalated_to(system, cid: int, task: str) -> str | None:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalars(select(WorkTask.escalated_to).where(
            WorkTask.complaint_id == cid, WorkTask.name == task, WorkTask.status == "open")).one()


def complete(system, cid: int, task: str, **answers):
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.scalars(select(WorkTask).where(
            WorkTask.complaint_id == cid, WorkTask.name == task, WorkTask.status == "open")).one()
    with UnitOfWork(system.db) as uow:
        return tasks.complete_task(uow, system.actor(WORKER.get(task, "agent1")), row.id,
                                   dict(ANSWERS.get(task, {}), **answers))


def working(start: datetime, hours: float, opens=(8, 30), closes=(17, 30)) -> datetime:
    """`hours` of default working time after `start` on ordinary weekdays (the tests stay in late November)."""
    moment = start.astimezone(CN)
    left = timedelta(hours=hours)
    while True:
        day_open = moment.replace(hour=opens[0], minute=opens[1], second=0, microsecond=0)
        day_close = moment.replace(hour=closes[0], minute=closes[1], second=0, microsecond=0)
        begin = max(moment, day_open)
        if moment.weekday() < 5 and begin < day_close:
            if begin + left <= day_close:
                return begin + left
            left -= day_close - begin
        moment = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.mark.parametrize("level", list(LEVELS))
def test_every_limit_of_a_round_fires_at_its_minute_counted_from_receipt(system, level):
    first_response, amount, approval_basis = LEVELS[level]
    received = clock.now() - timedelta(minutes=5)  # typed in five minutes after the call came in
    cid = start(system, level=level, received_at=received.isoformat()).complaint_id
    # First response and hand-over count from receipt, not from recording or from the task's opening.
    assert due_of(system, cid, "judge_validity") == received + first_response
    complete(system, cid, "judge_validity")
    fires_at(system, cid, "hand_over_warning", received + timedelta(minutes=8), None)
    fires_at(system, cid, "hand_over_deadline", received + timedelta(minutes=10), amount)
    clock.advance(timedelta(minutes=2))
    handed_over = clock.now()
    complete(system, cid, "hand_over")
    # The department: first phone contact 20 minutes after receipt; plan and agreement 10 minutes after the
    # work order. The task is due at the earlier of the two.
    assert due_of(system, cid, "analyse_and_propose") == received + timedelta(minutes=20)
    fires_at(system, cid, "analyse_and_propose_contact_deadline", received + timedelta(minutes=20), amount)
    # A department head's breach goes to the general manager (DOMAIN §4, our escalation).
    assert escalated_to(system, cid, "analyse_and_propose") == "general_manager"
    fires_at(system, cid, "analyse_and_propose_deadline", handed_over + timedelta(minutes=10), amount)
    agreed = clock.now()
    complete(system, cid, "analyse_and_propose")
    approval_due = agreed + timedelta(hours=1 if approval_basis == "clock" else 2)
    if approval_basis == "working":
        approval_due = working(agreed, 2)
    fires_at(system, cid, "approve_solution_deadline", approval_due, amount)
    complete(system, cid, "approve_solution")
    # The progress call 40 minutes after the agreement (17:xx in China, outside the quiet hours); when the
    # approval took longer, the call is due as soon as the department starts.
    call = agreed + timedelta(minutes=40)
    if call > clock.now():
        fires_at(system, cid, "implement_solution_progress", call, None)
    else:
        call = clock.now()
    assert due_of(system, cid, "progress_check") == call + timedelta(minutes=30)
    fires_at(system, cid, "progress_check_deadline", call + timedelta(minutes=30), amount)
    # The result is due 12 hours after the department got the work order.
    timed_out(system, cid, "implement_solution_deadline", handed_over + timedelta(hours=12), amount)
    # Implementation takes three days: the open progress call ends with the returned work order.
    clock.set_now(handed_over + timedelta(days=3))
    returned = clock.now()
    complete(system, cid, "implement_solution")
    with UnitOfWork(system.db, write=False) as uow:
        names = sorted(uow.session.scalars(select(WorkTask.name).where(
            WorkTask.complaint_id == cid, WorkTask.status == "open")))
    assert names == ["follow_up"]
    fires_at(system, cid, "follow_up_deadline", returned + timedelta(hours=24), amount)
    complete(system, cid, "follow_up")
    complete(system, cid, "cs_sign_off")
    result = complete(system, cid, "gm_review")
    assert (result.status, result.open_tasks) == ("closed", [])
    with UnitOfWork(system.db, write=False) as uow:
        details = casework.complaint_details(uow, system.actor("gm"), cid)
    assert details["outcome"] == "end_archived"


@pytest.mark.parametrize("level", list(LEVELS))
def test_the_first_response_warns_and_fires_at_its_minute_from_receipt(system, level):
    first_response, amount, _basis = LEVELS[level]
    received = clock.now() - timedelta(minutes=5)
    cid = start(system, level=level, received_at=received.isoformat()).complaint_id
    fires_at(system, cid, "judge_validity_warning", received + first_response * 0.8, None)
    fires_at(system, cid, "judge_validity_deadline", received + first_response, amount)


def test_a_complaint_recorded_after_its_limit_is_breached_at_once(system):
    received = clock.now() - timedelta(minutes=45)
    cid = start(system, received_at=received.isoformat()).complaint_id
    assert due_of(system, cid, "judge_validity") == received + timedelta(minutes=30)
    # In the intake's own step, not at the worker's next pass; that pass records nothing twice.
    assert penalties(system, cid) == [("judge_validity", "judge_validity_deadline", 20)]
    assert escalated_to(system, cid, "judge_validity") == "cs_manager"
    timers.run_due(system.db)
    assert penalties(system, cid) == [("judge_validity", "judge_validity_deadline", 20)]
    with UnitOfWork(system.db, write=False) as uow:
        breach = uow.session.scalars(select(Penalty).where(Penalty.complaint_id == cid)).one()
    assert breach.deadline == received + timedelta(minutes=30)


def test_on_site_first_contact_is_ten_minutes_from_receipt(system):
    received = clock.now()
    cid = start(system, channel="on_site").complaint_id
    step(system, cid, "judge_validity")
    # On the spot first (the agent, at this level), with the same 10 minutes; not settled: the work order.
    assert timer(system, cid, "settle_on_site_desk_contact_deadline").due_at == received + timedelta(minutes=10)
    step(system, cid, "settle_on_site_desk", on_site_settled=False, on_site_note="需要储运部查件")
    clock.advance(timedelta(minutes=1))  # the agreement's 10 minutes then end a minute after the contact's
    step(system, cid, "hand_over")
    assert timer(system, cid, "analyse_and_propose_contact_deadline").due_at == received + timedelta(minutes=10)
    assert due_of(system, cid, "analyse_and_propose") == received + timedelta(minutes=10)
    fires_at(system, cid, "analyse_and_propose_contact_deadline", received + timedelta(minutes=10), 20)


def test_a_sent_back_proposal_keeps_no_stale_contact_deadline(system):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    step(system, cid, "analyse_and_propose")
    clock.advance(timedelta(hours=1))  # past the first contact limit; the customer was contacted in time
    step(system, cid, "approve_solution", approved=False, approval_comment="补偿不够")
    timers.run_due(system.db)
    assert [p for p in penalties(system, cid) if p[1].startswith("analyse_and_propose_contact")] == []
    assert due_of(system, cid, "analyse_and_propose") == clock.now() + timedelta(minutes=10)


@pytest.mark.parametrize(("given", "code"), [
    (timedelta(minutes=6), Code.TIME_IN_FUTURE),
    (-timedelta(days=7, minutes=1), Code.RECEIVED_TOO_LONG_AGO),
])
def test_a_time_of_receipt_out_of_bounds_is_refused_naming_the_field(system, given, code):
    with pytest.raises(InvalidInput) as refused:
        start(system, received_at=(clock.now() + given).isoformat())
    assert list(refused.value.errors) == ["received_at"]
    assert refused.value.errors["received_at"][0].code == code


def test_how_old_a_time_of_receipt_may_be_is_a_setting(system):
    twenty_days_ago = (clock.now() - timedelta(days=20)).isoformat()
    with pytest.raises(InvalidInput) as refused:
        start(system, received_at=twenty_days_ago)
    assert refused.value.errors["received_at"][0].params == {"days": 7}  # the default the refusal names
    month = replace(system.settings, receipt_max_age_days=load_settings(
        {"COMPLAINTS_RECEIPT_MAX_AGE_DAYS": "30"}).receipt_max_age_days)
    with UnitOfWork(system.db) as uow:
        recorded = intake.record_complaint(uow, month, system.actor("agent1"),
                                           dict(INTAKE, received_at=twenty_days_ago), LINK_SECRET).result
    assert due_of(system, recorded.complaint_id, "judge_validity") == \
        datetime.fromisoformat(twenty_days_ago) + timedelta(minutes=30)


def test_stamp_receipt_refuses_what_is_not_a_time_with_a_zone():
    from engine.complaints.deadlines import stamp_receipt
    from forms.errors import FormCode

    for given, code in (("昨天", FormCode.NOT_A_DATE_TIME), ("2026-11-23T08:00:00", Code.NEEDS_TIME_ZONE)):
        with pytest.raises(InvalidInput) as refused:
            stamp_receipt({"received_at": given}, clock.now(), timedelta(days=7))
        assert refused.value.errors["received_at"][0].code == code


def test_a_time_of_receipt_within_bounds_is_kept_in_utc(system):
    slightly_ahead = start(system, received_at=(clock.now() + timedelta(minutes=4)).isoformat())
    six_days = clock.now() - timedelta(days=6)
    old = start(system, received_at=six_days.astimezone(CN).isoformat())
    omitted = start(system)
    with UnitOfWork(system.db, write=False) as uow:
        received = {r.complaint_id: casework.complaint_details(uow, system.actor("gm"), r.complaint_id)
                    ["variables"]["received_at"] for r in (slightly_ahead, old, omitted)}
    assert received == {slightly_ahead.complaint_id: clock.now().isoformat(),  # the desk's clock ran ahead
                        old.complaint_id: six_days.isoformat(), omitted.complaint_id: clock.now().isoformat()}


def test_a_second_visit_holds_the_follow_up_and_decides(system):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution"):
        step(system, cid, task)
    returned = clock.now()
    step(system, cid, "implement_solution", needs_second_visit=True)
    row = open_task(system, cid)
    assert (row.name, row.due_at) == ("record_second_visit", returned + timedelta(days=7))
    clock.advance(timedelta(days=2))  # longer than the 24 h follow-up: nothing is due, nothing penalised
    timers.run_due(system.db)
    assert penalties(system, cid) == []
    complete(system, cid, "record_second_visit", visited_at=clock.now().isoformat(), visit_result="到店更换",
             satisfied=True)
    assert open_task(system, cid).name == "cs_sign_off"


def test_a_second_visit_past_its_limit_is_a_timeout(system):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution"):
        step(system, cid, task)
    step(system, cid, "implement_solution", needs_second_visit=True)
    fires_at(system, cid, "record_second_visit_deadline", clock.now() + timedelta(days=7), 20)


@pytest.mark.parametrize(("level", "alerted"), [("dissatisfied", False), ("major", True), ("crisis", True)])
def test_special_cases_are_reported_at_once(system, level, alerted):
    cid = start(system, level=level).complaint_id
    with UnitOfWork(system.db, write=False) as uow:
        told = sorted(uow.session.scalars(select(Notification.user_id).where(
            Notification.complaint_id == cid, Notification.kind == "special_case")))
    expected = sorted([system.actor("gm").id, system.actor("cs_manager").id]) if alerted else []
    assert told == expected


def test_show_lists_every_open_task_with_its_due_time(system):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution"):
        step(system, cid, task)
    clock.advance(timedelta(minutes=41))
    timers.run_due(system.db)
    with UnitOfWork(system.db, write=False) as uow:
        shown = casework.complaint_details(uow, system.actor("gm"), cid)["open_tasks"]
    assert sorted(t["task"] for t in shown) == ["implement_solution", "progress_check"]
    assert all(t["due_at"] for t in shown)


def test_working_time_skips_a_holiday_and_counts_a_make_up_saturday(system):
    # Approval (working time for this level) asked for on Wednesday 30 September 2026, 17:00 in China:
    # 30 min that day, nothing during the National Day holiday (1–7 October), the rest on Thursday the 8th.
    assert approval_deadline(system, datetime(2026, 9, 30, 17, 0, tzinfo=CN)) == datetime(2026, 10, 8, 10, 0, tzinfo=CN)
    # Asked for on Friday 9 October at 17:00: due on Saturday the 10th, a 调休 make-up working day.
    saturday = datetime(2026, 10, 10, 10, 0, tzinfo=CN)
    assert approval_deadline(system, datetime(2026, 10, 9, 17, 0, tzinfo=CN)) == saturday


def test_quiet_hours_move_the_progress_call_to_the_morning(system):
    clock.set_now(datetime(2026, 11, 23, 20, 0, tzinfo=CN))
    cid = start(system, level="major").complaint_id
    for task in ("judge_validity", "hand_over"):
        step(system, cid, task)
    clock.set_now(datetime(2026, 11, 23, 20, 30, tzinfo=CN))
    step(system, cid, "analyse_and_propose")
    step(system, cid, "approve_solution")
    morning = datetime(2026, 11, 24, 8, 0, tzinfo=CN)
    assert timer(system, cid, "implement_solution_progress").due_at == morning  # 21:10 falls in 21:00–08:00
    clock.set_now(morning - SECOND)
    timers.run_due(system.db)
    assert open_task(system, cid).name == "implement_solution"
    clock.set_now(morning + SECOND)
    timers.run_due(system.db)
    assert due_of(system, cid, "progress_check") == morning + SECOND + timedelta(minutes=30)


def test_the_special_case_alert_reads_in_the_trade_words():
    from web.mail import render

    params = {"reference": "TS20261123-000001", "customer": "顾客甲", "level": "crisis", "category": "logistics"}
    subject, body = render("special_case", params, "zh", CN)
    assert subject == "[TS20261123-000001] 当即汇报：危机事件"
    assert "危机事件" in body and "总经理" in body
    assert render("special_case", dict(params, level="major"), "en", CN)[0] == \
        "[TS20261123-000001] Reported at once: major complaint"


def test_a_follow_up_call_due_in_the_quiet_hours_moves_to_the_morning(system):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution"):
        step(system, cid, task)
    clock.set_now(datetime(2026, 11, 23, 22, 30, tzinfo=CN))  # the work order comes back late in the evening
    step(system, cid, "implement_solution")
    morning = datetime(2026, 11, 25, 8, 0, tzinfo=CN)  # 24 hours end at 22:30, inside 21:00–08:00
    assert (open_task(system, cid).name, due_of(system, cid, "follow_up")) == ("follow_up", morning)
    fires_at(system, cid, "follow_up_deadline", morning, 20)


def _open_due(system, cid: int) -> tuple[str, timedelta]:
    """The complaint's one open task and how long after now it is due."""
    row = open_task(system, cid)
    return row.name, row.due_at - clock.now()


def test_the_steps_the_regulation_gives_no_figure_are_due_as_the_policy_says(system):
    # A major complaint: its approvals and signatures count on the clock (policy.dmn). Monday 17:00 in China,
    # so the customer-facing 24 hours end outside the quiet hours.
    not_valid = start(system, level="major").complaint_id
    step(system, not_valid, "judge_validity", valid=False)
    assert _open_due(system, not_valid) == ("reply_not_valid", timedelta(hours=24))
    malicious = start(system, level="major").complaint_id
    step(system, malicious, "judge_validity", is_malicious=True, malicious_evidence="同一号码一天来电四十次")
    assert _open_due(system, malicious) == ("review_malicious", timedelta(hours=4))
    enquiry = start(system, level="major", request_type="enquiry").complaint_id
    assert _open_due(system, enquiry) == ("answer_request", timedelta(hours=24))
    cid = start(system, level="major").complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose"):
        step(system, cid, task)
    assert _open_due(system, cid) == ("approve_solution", timedelta(hours=1))
    for task in ("approve_solution", "implement_solution", "follow_up"):
        step(system, cid, task)
    assert _open_due(system, cid) == ("cs_sign_off", timedelta(hours=8))
    step(system, cid, "cs_sign_off")
    assert _open_due(system, cid) == ("gm_review", timedelta(hours=8))
    crisis = start(system, level="crisis").complaint_id  # one round, then the general manager decides
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"):
        step(system, crisis, task)
    step(system, crisis, "follow_up", satisfied=False)
    assert _open_due(system, crisis) == ("gm_decide", timedelta(hours=4))
