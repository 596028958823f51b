"""Moving running complaints to a new version, through the engine: allowed where the workflow diff shows
it is safe, refused with the reason where not; task table, timers, audit and version stay consistent."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine import clock
from engine.db import UnitOfWork
from engine.errors import Code, Forbidden
from engine.modelling import deployment as modelling
from engine.modelling import migration
from engine.models import AuditEvent, Complaint, Timer
from forms.errors import FieldError
from tests.lifecycle import audit_kinds, open_task, start, step
from tests.modelling.variants import with_changed_form, with_lane, with_legal_review
from tests.web.conftest import text_of


def deploy(system, files) -> int:
    with UnitOfWork(system.db) as uow:
        version, _report = modelling.deploy_models(uow, system.actor("owner"), files)
        return version.id


def check(system, complaint_id: int, version_id: int) -> migration.MigrationCheck:
    with UnitOfWork(system.db, write=False) as uow:
        return migration.check_migration(uow, system.actor("owner"), complaint_id, version_id)


def migrate(system, complaint_id: int, version_id: int) -> migration.MigrationCheck:
    with UnitOfWork(system.db) as uow:
        return migration.migrate_complaint(uow, system.actor("owner"), complaint_id, version_id)


def timers(system, complaint_id: int) -> dict[str, tuple]:
    with UnitOfWork(system.db, write=False) as uow:
        rows = uow.session.scalars(select(Timer).where(Timer.complaint_id == complaint_id, Timer.status == "waiting"))
        return {t.name: (t.id, t.due_at) for t in rows}


def test_a_complaint_moves_to_the_new_step_keeping_its_task_and_deadlines(system):
    waiting = start(system, category="counterfeit").complaint_id
    task_before, timers_before = open_task(system, waiting), timers(system, waiting)
    clock.set_now(clock.now() + timedelta(minutes=10))
    new = deploy(system, with_legal_review())
    assert check(system, waiting, new).allowed
    result = migrate(system, waiting, new)
    assert (result.from_version, result.to_version) == (1, new)
    assert open_task(system, waiting).id == task_before.id
    assert timers(system, waiting) == timers_before  # the deadlines did not restart at the migration
    step(system, waiting, "judge_validity")
    assert open_task(system, waiting).name == "legal_review"
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.get(Complaint, waiting)
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.complaint_id == waiting,
                                                            AuditEvent.kind == "complaint_migrated"))
    assert complaint.version_id == new
    assert event.actor_name == "owner" and event.data["from_version"] == 1 and event.data["to_version"] == new
    assert ("complaint_migrated", None) in audit_kinds(system, waiting)


def test_an_open_task_in_another_lane_or_with_another_form_is_not_moved(system):
    at_hand_over = start(system).complaint_id
    step(system, at_hand_over, "judge_validity")
    at_judging = start(system).complaint_id
    lane = deploy(system, with_lane("hand_over", "agent", "cs_manager"))
    refused = check(system, at_hand_over, lane)
    assert not refused.allowed and refused.reasons == [
        FieldError(Code.MIGRATE_OPEN_TASK_CHANGED, {"task": "hand_over", "changes": "lane"})]
    assert check(system, at_judging, lane).allowed
    with pytest.raises(migration.MigrationRefused, match="lane"):
        migrate(system, at_hand_over, lane)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(Complaint, at_hand_over).version_id == 1

    form = deploy(system, with_changed_form("judge_validity"))
    assert check(system, at_judging, form).reasons == [
        FieldError(Code.MIGRATE_FORM_CHANGED, {"task": "judge_validity"})]
    assert check(system, at_hand_over, form).allowed


def test_an_open_task_missing_from_the_target_version_refuses(system):
    complaint = start(system, category="counterfeit").complaint_id
    new = deploy(system, with_legal_review())
    migrate(system, complaint, new)
    step(system, complaint, "judge_validity")
    assert open_task(system, complaint).name == "legal_review"
    assert check(system, complaint, 1).reasons == [
        FieldError(Code.MIGRATE_OPEN_TASK_REMOVED, {"task": "legal_review", "state": "READY"})]


def test_closed_same_version_and_other_roles(system):
    complaint = start(system).complaint_id
    assert check(system, complaint, 1).reasons == [FieldError(Code.MIGRATE_SAME_VERSION)]
    step(system, complaint, "judge_validity", valid=False)
    step(system, complaint, "reply_not_valid")
    new = deploy(system, with_legal_review())
    assert check(system, complaint, new).reasons == [FieldError(Code.MIGRATE_CLOSED)]
    with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
        migration.migrate_complaint(uow, system.actor("gm"), complaint, new)


def test_migrate_all_from_the_version_page(system, login):
    movable = [start(system).complaint_id for _ in range(2)]
    stuck = start(system).complaint_id
    step(system, stuck, "judge_validity")
    new = deploy(system, with_lane("hand_over", "agent", "cs_manager"))
    owner = login("owner", "en")
    page = text_of(owner.get(f"/models/versions/{new}"))
    assert "open task hand_over changed in the new version (lane)" in page and "Move to this version" in page
    one = owner.post(f"/models/versions/{new}/migrate", data={"complaint_id": movable[0]})
    assert one.status_code == 303
    assert "now runs on version" in text_of(owner.get(f"/models/versions/{new}"))
    refused = owner.post(f"/models/versions/{new}/migrate", data={"complaint_id": stuck})
    assert refused.status_code == 303
    assert "cannot move to this version" in text_of(owner.get(f"/models/versions/{new}"))
    owner.post(f"/models/versions/{new}/migrate", data={"all": "1"})
    assert "1 complaints moved to version" in text_of(owner.get(f"/models/versions/{new}"))
    with UnitOfWork(system.db, write=False) as uow:
        versions = {c.id: c.version_id for c in uow.session.scalars(select(Complaint))}
    assert versions == {movable[0]: new, movable[1]: new, stuck: 1}
