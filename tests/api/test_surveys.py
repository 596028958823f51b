"""The customer's link and satisfaction survey, as engine use cases on a real database."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.complaints import customer_link as surveys
from engine.complaints import idempotency, intake, tasks
from engine.db import UnitOfWork
from engine.errors import Conflict, InvalidInput, NotFound
from engine.models import AuditEvent, Complaint, Notification, Survey, WorkTask
from tests.lifecycle import ANSWERS, INTAKE, open_task, start, step

SECRET = "test-secret"
HAPPY = ["judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"]


def to_follow_up(system, **overrides):
    cid = start(system, **overrides).complaint_id
    for name in HAPPY:
        step(system, cid, name)
    assert open_task(system, cid).name == "follow_up"
    return cid


def token_of(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        return surveys.link_token(SECRET, cid, uow.session.get(Complaint, cid).reference)


def view(system, token):
    with UnitOfWork(system.db, write=False) as uow:
        return surveys.customer_view(uow, SECRET, token)


def answer(system, token, offer, satisfied=True, rating=5, comment="谢谢"):
    with UnitOfWork(system.db) as uow:
        return surveys.submit_survey(uow, SECRET, token, offer, surveys.Answer(satisfied, rating, comment))


def complaint(system, cid):
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.get(Complaint, cid)


def test_link_shows_plain_status_without_a_survey_before_follow_up(system):
    cid = start(system).complaint_id
    shown = view(system, token_of(system, cid))
    assert shown.stage == "reviewing" and shown.survey_offer is None and shown.reference.startswith("TS")


@pytest.mark.parametrize("bad", ["", "garbage", "x" * 500])
def test_wrong_tokens_are_not_found(system, bad):
    with pytest.raises(NotFound):
        view(system, bad)


def test_tampered_expired_and_foreign_tokens_are_not_found(system):
    cid = start(system).complaint_id
    token = token_of(system, cid)
    with pytest.raises(NotFound):
        view(system, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    with UnitOfWork(system.db, write=False) as uow:
        with pytest.raises(NotFound):
            surveys.customer_view(uow, "another-secret", token)
    with pytest.raises(NotFound):  # the right id with the wrong reference (e.g. after a database reset)
        view(system, surveys.link_token(SECRET, cid, "TS00000000-000000"))
    # Links are stamped and aged by the program's clock: a link made now expires after LINK_MAX_AGE.
    view(system, token)
    clock.advance(surveys.LINK_MAX_AGE - timedelta(minutes=1))
    view(system, token)
    clock.advance(timedelta(minutes=2))
    with pytest.raises(NotFound):
        view(system, token)


def test_survey_answer_moves_the_workflow_once_and_cancels_the_agents_task(system):
    cid = to_follow_up(system)
    token = token_of(system, cid)
    follow_up = open_task(system, cid)
    shown = view(system, token)
    assert shown.stage == "follow_up" and shown.survey_offer
    assert answer(system, token, shown.survey_offer, satisfied=True, rating=4) is True
    assert open_task(system, cid).name == "cs_sign_off"
    c = complaint(system, cid)
    assert c.satisfied is True
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(WorkTask, follow_up.id).status == "cancelled"
        row = uow.session.scalars(select(Survey).where(Survey.complaint_id == cid)).one()
        event = uow.session.scalars(select(AuditEvent).where(AuditEvent.kind == "survey_answered")).one()
    assert (row.round, row.satisfied, row.rating, row.applied) == (1, True, 4, True)
    assert event.actor_name == "customer" and event.data["applied"] is True
    # The agent's follow-up submitted afterwards is a conflict; a second answer too; nothing changes.
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        tasks.complete_task(uow, system.actor("agent1"), follow_up.id, ANSWERS["follow_up"])
    with pytest.raises(Conflict):
        answer(system, token, shown.survey_offer, satisfied=False)
    assert complaint(system, cid).lock_version == c.lock_version
    assert view(system, token).survey_offer is None and view(system, token).answered.rating == 4


def test_not_satisfied_answer_starts_another_round(system):
    cid = to_follow_up(system)
    token = token_of(system, cid)
    answer(system, token, view(system, token).survey_offer, satisfied=False, rating=1)
    assert complaint(system, cid).round == 2 and open_task(system, cid).name == "analyse_and_propose"
    for name in HAPPY[2:]:
        step(system, cid, name)
    offer = view(system, token).survey_offer  # a new round, a new survey
    assert offer and answer(system, token, offer, satisfied=True) is True
    assert open_task(system, cid).name == "cs_sign_off"


def test_agent_first_then_survey_is_recorded_but_not_applied(system):
    cid = to_follow_up(system)
    token = token_of(system, cid)
    offer = view(system, token).survey_offer
    step(system, cid, "follow_up", satisfied=True)
    version = complaint(system, cid).lock_version
    assert answer(system, token, offer, satisfied=False) is False
    c = complaint(system, cid)
    assert (c.satisfied, c.lock_version) == (True, version) and open_task(system, cid).name == "cs_sign_off"
    with UnitOfWork(system.db, write=False) as uow:
        row = uow.session.scalars(select(Survey).where(Survey.complaint_id == cid)).one()
    assert row.applied is False and row.satisfied is False


def test_answers_are_checked(system):
    cid = to_follow_up(system)
    token = token_of(system, cid)
    offer = view(system, token).survey_offer
    with pytest.raises(InvalidInput) as err:
        with UnitOfWork(system.db) as uow:
            surveys.submit_survey(uow, SECRET, token, offer, surveys.Answer(None, 9, "x" * 3000))
    assert set(err.value.errors) == {"satisfied", "rating", "comment"}
    with pytest.raises(NotFound):
        answer(system, token, "forged-offer")
    other = to_follow_up(system, customer_contact="13900000000")
    with pytest.raises(NotFound):  # an offer of one complaint does not fit another's link
        answer(system, token_of(system, other), offer)
    assert open_task(system, cid).name == "follow_up"


def test_recording_queues_the_customer_link_once_per_key(system):
    agent = system.actor("agent1")
    settings = replace(system.settings, public_base_url="https://x.test")
    key = idempotency.make_key(agent.id, "complaints.create", "k-1", dict(INTAKE, customer_contact="a@b.cn"))
    with UnitOfWork(system.db) as uow:
        first = intake.record_complaint(uow, settings, agent, dict(INTAKE, customer_contact="a@b.cn"), SECRET, key)
    with UnitOfWork(system.db) as uow:
        again = intake.record_complaint(uow, settings, agent, dict(INTAKE, customer_contact="a@b.cn"), SECRET, key)
    assert again.replayed and again.result == first.result and again.customer_link == first.customer_link
    assert first.customer_link.startswith("https://x.test/c/")
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(Complaint).count() == 1
        note = uow.session.scalars(select(Notification).where(Notification.kind == "customer_link")).one()
    assert note.email == "a@b.cn" and note.user_id is None and note.params["link"] == first.customer_link
    other = idempotency.make_key(agent.id, "complaints.create", "k-1", dict(INTAKE, customer_name="乙"))
    with UnitOfWork(system.db) as uow, pytest.raises(InvalidInput):
        intake.record_complaint(uow, settings, agent, dict(INTAKE, customer_name="乙"), SECRET, other)
    with UnitOfWork(system.db) as uow:  # a phone number: kept in the outbox, not e-mailed
        phone = intake.record_complaint(uow, settings, agent, INTAKE, SECRET)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalars(select(Notification.email).where(
            Notification.complaint_id == phone.result.complaint_id,
            Notification.kind == "customer_link")).one() is None


def test_concurrent_repeats_of_one_key_record_one_complaint(system):
    from concurrent.futures import ThreadPoolExecutor
    from threading import Barrier

    agent = system.actor("agent1")
    key = idempotency.make_key(agent.id, "complaints.create", "same", INTAKE)
    barrier = Barrier(6)

    def record(_):
        barrier.wait()
        with UnitOfWork(system.db) as uow:
            return intake.record_complaint(uow, system.settings, agent, INTAKE, SECRET, key)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(record, range(6)))
    assert len({r.result.complaint_id for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.query(Complaint).count() == 1
