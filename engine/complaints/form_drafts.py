"""Half-filled task forms, kept per user and task until the task is done."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from engine import clock
from engine.complaints import evidence
from engine.complaints.worklist import can_work
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Complaint, Draft, WorkTask
from engine.people.access import check_can_view
from engine.people.roles import Actor

MAX_VALUES = 200


@dataclass(frozen=True)
class SavedDraft:
    values: dict[str, list[str]]
    saved_at: datetime


@use_case
def save(uow: UnitOfWork, actor: Actor, task_id: str, values: dict[str, list[str]],
         files: evidence.Files | None = None) -> None:
    """Keep the values as typed (no validation: a draft may be incomplete) for the actor's open task,
    with the files posted with it, which become the complaint's evidence."""
    row = uow.session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(Code.TASK_NOT_FOUND, task=task_id)
    check_can_view(actor, uow.session.get_one(Complaint, row.complaint_id))
    if not can_work(actor, row):
        raise Forbidden(Code.TASK_FOR_ROLE, role=row.role)
    if row.status != "open":
        raise Conflict(Code.TASK_ALREADY, status=row.status)
    if not _is_plain(values):
        raise InvalidInput.field("_form", Code.DRAFT_NOT_TEXT)
    if files is not None:
        evidence.add_files(uow, files.settings, actor, files.uploads, row.complaint_id)
    draft = uow.session.scalar(select(Draft).where(Draft.task_id == task_id, Draft.user_id == actor.id))
    if draft is None:
        draft = Draft(task_id=task_id, user_id=actor.id)
        uow.session.add(draft)
    draft.values = values
    draft.saved_at = clock.now()


def load(uow: UnitOfWork, actor: Actor, task_id: str) -> SavedDraft | None:
    """The actor's draft of the task, if one was saved."""
    draft = uow.session.scalar(select(Draft).where(Draft.task_id == task_id, Draft.user_id == actor.id))
    return SavedDraft(values=draft.values, saved_at=draft.saved_at) if draft else None


def discard(uow: UnitOfWork, task_id: str) -> None:
    """Drop every draft of a task that is done (nobody can submit them any more), in the caller's
    unit of work."""
    uow.session.execute(delete(Draft).where(Draft.task_id == task_id))


def _is_plain(values: object) -> bool:
    return (isinstance(values, dict) and len(values) <= MAX_VALUES
            and all(isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v)
                    for k, v in values.items()))
