"""Driving complaints through the engine in tests: intake data and the answers for each task."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from engine import clock
from engine.complaints import casework, intake, tasks
from engine.db import UnitOfWork
from engine.models import WorkTask

INTAKE = {
    "customer_name": "顾客甲",
    "customer_contact": "13800000000",
    "channel": "phone",
    "order_id": "ORD-1001",
    "description": "收到的商品外包装破损，内件有划痕。",
    "demand": "换货并补偿运费",
    "category": "logistics",
    "level": "dissatisfied",
}

ANSWERS = {
    "judge_validity": {"valid": True, "validity_reason": "理由充分，要求合理", "is_malicious": False},
    "reply_not_valid": {"reply_channel": "phone", "reply_text": "已向顾客解释"},
    "hand_over": {"department": "logistics", "work_order_note": "请储运部处理破损"},
    "analyse_and_propose": {
        "cause": "运输途中挤压", "responsible_person": "承运商A", "solution_type": "exchange",
        "solution_detail": "换新并补偿运费", "compensation_amount": 10, "customer_contacted": True,
        "customer_agreed": True,
    },
    "approve_solution": {"approved": True, "approval_comment": "同意"},
    "implement_solution": {"implementation_result": "已换新", "customer_notified": True,
                           "responsible_penalty": 0, "needs_second_visit": False},
    "follow_up": {"solution_executed": True, "solution_useful": True, "satisfied": True},
    "cs_sign_off": {"cs_signature": "孙丽"},
    "gm_review": {"gm_signature": "周强", "lessons_learnt": "加强包装"},
    "gm_decide": {"decision": "close", "decision_reason": "已尽力"},
    "review_malicious": {"malicious_confirmed": True, "review_note": "证据属实"},
    "answer_request": {"answer_channel": "phone", "answer_text": "已答复"},
    "settle_on_site": {"on_site_settled": True, "solution_type": "exchange", "solution_detail": "当场换新",
                       "customer_agreed": True},
    "settle_on_site_desk": {"on_site_settled": True, "solution_type": "apology", "solution_detail": "当面致歉并赠券",
                            "customer_agreed": True},
}

#: Who works each task in the demo data (department heads for the logistics department).
WORKER = {
    "judge_validity": "agent1", "reply_not_valid": "agent1", "hand_over": "agent1", "follow_up": "agent1",
    "analyse_and_propose": "head_logistics", "implement_solution": "head_logistics",
    "approve_solution": "gm", "gm_review": "gm", "gm_decide": "gm", "cs_sign_off": "cs_manager",
    "review_malicious": "cs_manager", "answer_request": "agent1", "settle_on_site": "head_logistics",
    "settle_on_site_desk": "agent1",
}


#: The key the tests' customer links are signed with.
LINK_SECRET = "test-secret"


def start(system, user: str = "agent1", **overrides) -> tasks.StepResult:
    """Record a complaint as the intake page does (`intake.record_complaint`)."""
    with UnitOfWork(system.db) as uow:
        return intake.record_complaint(uow, system.settings, system.actor(user), dict(INTAKE, **overrides),
                                       LINK_SECRET).result


def open_task(system, complaint_id: int) -> WorkTask:
    with UnitOfWork(system.db, write=False) as uow:
        rows = list(uow.session.scalars(select(WorkTask).where(
            WorkTask.complaint_id == complaint_id, WorkTask.status == "open")))
    assert len(rows) == 1, [r.name for r in rows]
    return rows[0]


def step(system, complaint_id: int, expect: str, user: str | None = None, **answers) -> tasks.StepResult:
    """Complete the complaint's one open task, which must be `expect`, with the default answers + overrides."""
    row = open_task(system, complaint_id)
    assert row.name == expect
    with UnitOfWork(system.db) as uow:
        return tasks.complete_task(uow, system.actor(user or WORKER[expect]), row.id,
                                   dict(ANSWERS[expect], **answers))


def handed_over(system, **overrides) -> tuple[int, WorkTask]:
    """A complaint judged valid and handed over: its id and the department's open task (analyse_and_propose)."""
    complaint_id = start(system, **overrides).complaint_id
    step(system, complaint_id, "judge_validity")
    step(system, complaint_id, "hand_over")
    return complaint_id, open_task(system, complaint_id)


def approval_deadline(system, asked_at: datetime) -> datetime:
    """When the approval (working time) falls due if the department proposes its solution at `asked_at`
    (the clock is set there)."""
    clock.set_now(asked_at - timedelta(minutes=10))
    complaint_id, _task = handed_over(system)
    clock.set_now(asked_at)
    step(system, complaint_id, "analyse_and_propose")
    row = open_task(system, complaint_id)
    assert row.name == "approve_solution" and row.due_at is not None
    return row.due_at


def audit_kinds(system, complaint_id: int) -> list[tuple[str, str | None]]:
    with UnitOfWork(system.db, write=False) as uow:
        details = casework.complaint_details(uow, system.actor("gm"), complaint_id)
    return [(e["kind"], e["task"]) for e in details["audit"]]
