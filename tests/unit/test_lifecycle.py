"""Every path of the complaint model, run through the engine on a real database, audit trail checked."""
from __future__ import annotations

import pytest

from engine.complaints import tasks
from engine.db import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.models import AuditEvent, Complaint
from tests.lifecycle import ANSWERS, audit_kinds, open_task, start, step

HAPPY = ["judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"]


def complaint(system, complaint_id) -> Complaint:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.get(Complaint, complaint_id)


def run_to_follow_up(system, cid, first_round=True):
    for name in (HAPPY if first_round else HAPPY[2:]):
        step(system, cid, name)


def test_not_valid_is_answered_and_closed(system):
    started = start(system)
    assert [t["task"] for t in started.open_tasks] == ["judge_validity"]
    assert started.open_tasks[0]["assignee"] == "agent1"
    step(system, started.complaint_id, "judge_validity", valid=False, validity_reason="要求不合理")
    result = step(system, started.complaint_id, "reply_not_valid")
    assert result.status == "closed" and result.open_tasks == []
    c = complaint(system, started.complaint_id)
    assert (c.outcome, c.valid, c.department) == ("end_not_valid", False, None)
    assert audit_kinds(system, started.complaint_id) == [
        ("complaint_started", None),
        ("task_opened", "judge_validity"), ("task_completed", "judge_validity"),
        ("task_opened", "reply_not_valid"), ("task_completed", "reply_not_valid"),
        ("complaint_closed", None),
    ]


def test_happy_path_is_archived_after_sign_off(system):
    cid = start(system).complaint_id
    run_to_follow_up(system, cid)
    step(system, cid, "follow_up")
    step(system, cid, "cs_sign_off")
    result = step(system, cid, "gm_review")
    assert result.status == "closed"
    c = complaint(system, cid)
    assert (c.outcome, c.round, c.satisfied, c.department) == ("end_archived", 1, True, "logistics")
    assert c.variables["max_rounds"] == 2 and c.variables["penalty"] == 20
    assert c.first_response_at is not None and c.closed_at is not None
    names = [t for k, t in audit_kinds(system, cid) if k == "task_completed"]
    assert names == HAPPY + ["follow_up", "cs_sign_off", "gm_review"]
    with UnitOfWork(system.db, write=False) as uow:
        completed = uow.session.query(AuditEvent).filter_by(complaint_id=cid, task_name="analyse_and_propose",
                                                           kind="task_completed").one()
    assert completed.actor_name == "head_logistics"
    assert completed.data["cause"] == ANSWERS["analyse_and_propose"]["cause"]


def test_not_satisfied_once_then_satisfied(system):
    cid = start(system).complaint_id
    run_to_follow_up(system, cid)
    step(system, cid, "follow_up", satisfied=False)
    assert complaint(system, cid).round == 2
    run_to_follow_up(system, cid, first_round=False)
    step(system, cid, "follow_up")
    step(system, cid, "cs_sign_off")
    step(system, cid, "gm_review")
    c = complaint(system, cid)
    assert (c.status, c.outcome, c.round) == ("closed", "end_archived", 2)
    assert [t for k, t in audit_kinds(system, cid) if k == "task_completed"].count("analyse_and_propose") == 2


@pytest.mark.parametrize("decision, outcome", [("close", "end_closed_by_gm"), ("handle_again", None)])
def test_rounds_exhausted_go_to_general_manager(system, decision, outcome):
    cid = start(system, level="very_dissatisfied").complaint_id
    run_to_follow_up(system, cid)
    step(system, cid, "follow_up", satisfied=False)
    run_to_follow_up(system, cid, first_round=False)
    step(system, cid, "follow_up", satisfied=False)
    assert open_task(system, cid).name == "gm_decide"
    assert complaint(system, cid).round == 3
    result = step(system, cid, "gm_decide", decision=decision)
    if outcome:
        assert result.status == "closed" and complaint(system, cid).outcome == outcome
    else:
        assert [t["task"] for t in result.open_tasks] == ["analyse_and_propose"]
        assert complaint(system, cid).variables["max_rounds"] == 3


def test_crisis_goes_to_general_manager_after_one_round(system):
    cid = start(system, level="crisis").complaint_id
    run_to_follow_up(system, cid)
    step(system, cid, "follow_up", satisfied=False)
    assert open_task(system, cid).name == "gm_decide"


def test_approval_sent_back_for_a_new_proposal(system):
    cid = start(system).complaint_id
    for name in HAPPY[:3]:
        step(system, cid, name)
    step(system, cid, "approve_solution", approved=False, approval_comment="补偿过高")
    step(system, cid, "analyse_and_propose", compensation_amount=5)
    step(system, cid, "approve_solution")
    assert open_task(system, cid).name == "implement_solution"
    kinds = [t for k, t in audit_kinds(system, cid) if k == "task_completed"]
    assert kinds == HAPPY[:3] + ["approve_solution", "analyse_and_propose", "approve_solution"]
    assert complaint(system, cid).variables["compensation_amount"] == 5


@pytest.mark.parametrize("category, department, head", [
    ("product_quality", "quality", "head_quality"),
    ("return_exchange", "after_sales", "head_after_sales"),
    ("transaction_dispute", "sales", "head_sales"),
])
def test_routing_sends_work_to_the_responsible_department(system, category, department, head):
    cid = start(system, category=category).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over", department=department)
    row = open_task(system, cid)
    assert (row.name, row.role, row.department) == ("analyse_and_propose", "department_head", department)
    with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
        tasks.complete_task(uow, system.actor("head_logistics"), row.id, ANSWERS["analyse_and_propose"])
    step(system, cid, "analyse_and_propose", user=head)


def _snapshot(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        c = uow.session.get(Complaint, cid)
        return c.state, c.lock_version, uow.session.query(AuditEvent).filter_by(complaint_id=cid).count()


def test_refusals_change_nothing(system):
    cid = start(system).complaint_id
    row = open_task(system, cid)
    before = _snapshot(system, cid)
    attempts = [
        (Forbidden, "gm", ANSWERS["judge_validity"], None),
        (InvalidInput, "agent1", {"valid": "perhaps"}, None),
        (InvalidInput, "agent1", {"valid": True}, None),
        (InvalidInput, "agent1", dict(ANSWERS["judge_validity"], typename="x"), None),
        (InvalidInput, "agent1", dict(ANSWERS["judge_validity"], validity_reason="a\x00b"), None),
        (Conflict, "agent1", ANSWERS["judge_validity"], before[1] - 1),
        (Conflict, "agent2", ANSWERS["judge_validity"], None),  # held by agent1
    ]
    for error, user, data, version in attempts:
        with UnitOfWork(system.db) as uow, pytest.raises(error):
            tasks.complete_task(uow, system.actor(user), row.id, data, version)
        assert _snapshot(system, cid) == before, (error, user)
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput) as info:
        tasks.complete_task(uow, system.actor("agent1"), row.id, {"valid": True})
    assert "validity_reason" in info.value.errors
    step(system, cid, "judge_validity")
    after = _snapshot(system, cid)
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        tasks.complete_task(uow, system.actor("agent1"), row.id, ANSWERS["judge_validity"])
    assert _snapshot(system, cid) == after


def test_claim_and_release(system):
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    row = open_task(system, cid)
    assert row.assignee_id is None
    with UnitOfWork(system.db) as uow:
        tasks.claim_task(uow, system.actor("head_logistics"), row.id)
    assert open_task(system, cid).assignee_id == system.actor("head_logistics").id
    with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
        tasks.claim_task(uow, system.actor("head_quality"), row.id)
    with UnitOfWork(system.db) as uow:
        tasks.release_task(uow, system.actor("head_logistics"), row.id)
    assert open_task(system, cid).assignee_id is None
    kinds = [k for k, _ in audit_kinds(system, cid)]
    assert kinds[-2:] == ["task_claimed", "task_released"]


def test_intake_is_validated_and_role_checked(system):
    with pytest.raises(InvalidInput) as info:
        start(system, level="apocalyptic", customer_name="")
    assert set(info.value.errors) >= {"level", "customer_name"}
    with pytest.raises(Forbidden):  # anyone on the desk records (issue 17), the model's owner does not
        start(system, user="owner")
