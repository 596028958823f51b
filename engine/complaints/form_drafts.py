"""Half-filled task forms, kept per user and task until the task is done."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from engine import clock
from engine.complaints.services import check_can_view
from engine.complaints.worklist import can_work
from engine.db import UnitOfWork
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Complaint, Draft, WorkTask
from engine.people.roles import Actor

MAX_VALUES = 200


@dataclass(frozen=True)
class SavedDraft:
    values: dict[str, list[str]]
    saved_at: datetime


def save(uow: UnitOfWork, actor: Actor, task_id: str, values: dict[str, list[str]]) -> None:
    """Keep the values as typed (no validation: a draft may be incomplete) for the actor's open task."""
    row = uow.session.get(WorkTask, task_id)
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    check_can_view(actor, uow.session.get(Complaint, row.complaint_id))
    if not can_work(actor, row):
        raise Forbidden(f"this task is for role {row.role!r}")
    if row.status != "open":
        raise Conflict(f"this task was already {row.status}")
    if not _is_plain(values):
        raise InvalidInput({"_form": ["a draft holds lists of text"]})
    draft = uow.session.scalar(select(Draft).where(Draft.task_id == task_id, Draft.user_id == actor.id))
    if draft is None:
        draft = Draft(task_id=task_id, user_id=actor.id)
        uow.session.add(draft)
    draft.values = values
    draft.saved_at = clock.now()
    uow.commit()


def load(uow: UnitOfWork, actor: Actor, task_id: str) -> SavedDraft | None:
    """The actor's draft of the task, if one was saved."""
    draft = uow.session.scalar(select(Draft).where(Draft.task_id == task_id, Draft.user_id == actor.id))
    return SavedDraft(values=draft.values, saved_at=draft.saved_at) if draft else None


def discard(uow: UnitOfWork, task_id: str) -> None:
    """Drop every draft of a task that is done (nobody can submit them any more)."""
    uow.session.execute(delete(Draft).where(Draft.task_id == task_id))
    uow.commit()


def _is_plain(values: object) -> bool:
    return (isinstance(values, dict) and len(values) <= MAX_VALUES
            and all(isinstance(k, str) and isinstance(v, list) and all(isinstance(i, str) for i in v)
                    for k, v in values.items()))
