"""The directly responsible person (责任人): a user of this system, or a named outside party (a carrier, a
supplier). A form field marked `"x-responsible": true` (the department head's `responsible_person` on
`analyse_and_propose`) names them; when the name is a user's, that user is told through the outbox, and the
deductions decided for them (`engine.complaints.deadlines.record_decided`) are recorded against the user and
told to them too. An outside party is kept by name.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.complaints import notifications
from engine.models import Complaint, User, WorkTask
from engine.people.roles import Actor

#: The schema keyword marking a field that names the responsible person.
MARK = "x-responsible"


def resolve(session: Session, name: str | None) -> User | None:
    """The active user a name means: their user name (any case), their display name, or the display name
    without its parenthesised note ("张伟" for "张伟 (储运部经理)") — only when exactly one user matches.
    None for an outside party."""
    name = (name or "").strip()
    if not name:
        return None
    active = select(User).where(User.active.is_(True))
    by_username = session.scalars(active.where(func.lower(User.username) == name.lower())).all()
    if len(by_username) == 1:
        return by_username[0]
    matches = [u for u in session.scalars(active.where(User.display_name.like(f"{_escaped(name)}%", escape="\\")))
               if (u.display_name or "").strip() == name
               or (u.display_name or "").split(" (")[0].split("（")[0].strip() == name]
    return matches[0] if len(matches) == 1 else None


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def on_task_completed(session: Session, complaint: Complaint, work: WorkTask, schema: dict, answers: dict,
                      actor: Actor) -> User | None:
    """When the completed form names the responsible person, record who it is (audit `responsible_named`: the
    name and, for a user, their user name) and tell the user. Returns the user, None for an outside party."""
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, dict) or prop.get(MARK) is not True or not answers.get(name):
            continue
        person = str(answers[name]).strip()
        user = resolve(session, person)
        audit.record(session, complaint.id, actor, "responsible_named", task_id=work.id, task_name=work.name,
                     data={"person": person, "user": user.username if user else None})
        if user is not None:
            notifications.notify(session, [user], "responsible_named", f"{complaint.id}:{work.id}",
                                 {"reference": complaint.reference, "customer": complaint.customer_name,
                                  "cause": str(answers.get("cause") or "")[:500]}, complaint.id)
        return user
    return None
