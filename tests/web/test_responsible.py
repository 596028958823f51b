"""Responsible people are users or named outside parties (issue 17): a user named responsible is told through the
outbox and the deduction decided for them is theirs in the ledger (and told to them); an outside party is kept by
name and nobody is notified."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.models import AuditEvent, Notification, Penalty, User
from tests.lifecycle import start, step
from web import mail


def _to_implementation(system, responsible: str) -> int:
    complaint_id = start(system).complaint_id
    step(system, complaint_id, "judge_validity")
    step(system, complaint_id, "hand_over")
    step(system, complaint_id, "analyse_and_propose", responsible_person=responsible)
    step(system, complaint_id, "approve_solution")
    step(system, complaint_id, "implement_solution", responsible_penalty=80,
         responsible_penalty_reason="少发一件未核对")
    return complaint_id


def _outbox(system, complaint_id: int) -> list[tuple[str, str, dict]]:
    with UnitOfWork(system.db, write=False) as uow:
        return [(kind, username, params) for kind, username, params in uow.session.execute(
            select(Notification.kind, User.username, Notification.params).join(User, User.id == Notification.user_id)
            .where(Notification.complaint_id == complaint_id,
                   Notification.kind.in_(("responsible_named", "penalty_decided"))).order_by(Notification.id))]


def test_a_user_named_responsible_is_told_and_carries_the_deduction(system):
    complaint_id = _to_implementation(system, "李娜")  # agent2's display name without its note
    sent = _outbox(system, complaint_id)
    assert [(kind, user) for kind, user, _ in sent] == [("responsible_named", "agent2"), ("penalty_decided", "agent2")]
    with UnitOfWork(system.db, write=False) as uow:
        agent2 = uow.session.scalar(select(User).where(User.username == "agent2"))
        penalty = uow.session.scalar(select(Penalty).where(Penalty.complaint_id == complaint_id,
                                                           Penalty.kind == "responsible"))
        assert (penalty.person_id, penalty.person_name, penalty.amount) == (agent2.id, "李娜", 80)
        named = uow.session.scalar(select(AuditEvent.data).where(AuditEvent.complaint_id == complaint_id,
                                                                 AuditEvent.kind == "responsible_named"))
    assert named == {"person": "李娜", "user": "agent2"}
    subject, body = mail.render("penalty_decided", sent[1][2], "zh", ZoneInfo("Asia/Shanghai"))
    assert "80" in subject and "少发一件未核对" in body
    subject, _body = mail.render("responsible_named", sent[0][2], "en", ZoneInfo("Asia/Shanghai"))
    assert subject.endswith("You were named the responsible person")


def test_a_user_name_works_too(system):
    complaint_id = _to_implementation(system, "HEAD_Sales")
    assert {user for _kind, user, _ in _outbox(system, complaint_id)} == {"head_sales"}


def test_an_outside_party_is_kept_by_name(system):
    complaint_id = _to_implementation(system, "承运商A")
    assert _outbox(system, complaint_id) == []
    with UnitOfWork(system.db, write=False) as uow:
        penalty = uow.session.scalar(select(Penalty).where(Penalty.complaint_id == complaint_id,
                                                           Penalty.kind == "responsible"))
        assert (penalty.person_id, penalty.person_name) == (None, "承运商A")
        named = uow.session.scalar(select(AuditEvent.data).where(AuditEvent.complaint_id == complaint_id,
                                                                 AuditEvent.kind == "responsible_named"))
    assert named == {"person": "承运商A", "user": None}
