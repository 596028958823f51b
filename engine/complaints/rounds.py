"""A complaint's answers by handling round, for the forms where staff decide: this round first, earlier rounds
after it, the customer's survey answer with the round it belongs to, and what happened to a proposal that was
sent back (docs/data-dictionary.md, "Rounds on the forms").

The round of a task is the workflow's `round` when the task opened (recorded with its `task_opened` event);
tasks before the first round (validity, hand-over) have none.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import AuditEvent, Complaint, Survey, User


@dataclass(frozen=True)
class Answer:
    """One completed task: its name, who answered, when, and the form data."""

    task: str
    task_id: str
    at: datetime
    actor: str | None
    data: dict


@dataclass
class Round:
    """The answers of one round (`number` None: before the first round) and the customer's survey answer."""

    number: int | None
    answers: list[Answer] = field(default_factory=list)
    survey: Survey | None = None


@dataclass(frozen=True)
class History:
    """The rounds, the current one first; and for a task visited again in the same round (a proposal sent
    back), its previous answer and what was answered after it (the approver's instruction)."""

    current: int | None
    rounds: list[Round]
    previous: Answer | None = None
    since: list[Answer] = field(default_factory=list)


def history(session: Session, complaint: Complaint, task_name: str | None = None) -> History:
    """The complaint's answers by round; `task_name`: the task about to be worked on (for `previous`)."""
    events = session.execute(
        select(AuditEvent, User.username).outerjoin(User, User.id == AuditEvent.actor_id)
        .where(AuditEvent.complaint_id == complaint.id, AuditEvent.kind.in_(("task_opened", "task_completed")))
        .order_by(AuditEvent.id)).all()
    round_of: dict[str | None, int | None] = {}
    by_round: dict[int | None, Round] = {}
    for event, username in events:
        if event.kind == "task_opened":
            round_of[event.task_id] = (event.data or {}).get("round")
            continue
        number = round_of.get(event.task_id)
        by_round.setdefault(number, Round(number)).answers.append(Answer(
            task=event.task_name or "", task_id=event.task_id or "", at=event.at, actor=username,
            data=dict(event.data or {})))
    for survey in session.scalars(select(Survey).where(Survey.complaint_id == complaint.id)):
        by_round.setdefault(survey.round, Round(survey.round)).survey = survey
    current = (complaint.variables or {}).get("round") or complaint.round
    by_round.setdefault(current, Round(current))
    numbered = sorted((r for r in by_round.values() if r.number is not None), key=lambda r: -(r.number or 0))
    if current is None:  # still before the first round
        ordered = [by_round[None], *numbered]
    else:
        ordered = [r for r in numbered if r.number == current] + [r for r in numbered if r.number != current]
        ordered += [by_round[None]] if None in by_round else []
    previous, since = None, []
    if task_name is not None:
        this_round = by_round[current].answers
        earlier = [i for i, a in enumerate(this_round) if a.task == task_name]
        if earlier:
            previous = this_round[earlier[-1]]
            since = this_round[earlier[-1] + 1:]
    return History(current=current, rounds=ordered, previous=previous, since=since)
