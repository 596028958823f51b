"""Withdrawal (撤诉): the customer withdraws the complaint — typically the platform complaint after a refund —
and an agent records it, with the reason, at any open stage. The model ends the complaint at `end_withdrawn`:
every user task carries an interrupting message boundary event for `complaint_withdrawn`, which leads to that
terminate end event (docs/MODELLING.md, "Withdrawal"), so open tasks and their time limits end with it."""
from __future__ import annotations

from engine import audit, clock
from engine.complaints import progress
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, Forbidden, InvalidInput, NotFound
from engine.models import Complaint
from engine.people import access
from engine.people.roles import AGENT, CS_MANAGER, Actor
from engine.workflow import runtime
from forms.errors import FormCode, error
from forms.validate import text_errors

#: The message the model's withdrawal boundary events wait for (engine.workflow.support.waits.SENT_BY_THE_SYSTEM).
WITHDRAWN_MESSAGE = "complaint_withdrawn"
#: The end event a withdrawn complaint closes at (its outcome).
WITHDRAWN_END = "end_withdrawn"
#: Why the customer withdrew: after a refund, the platform dispute closed, settled with the customer, other.
REASONS = ("refunded", "platform_dispute_closed", "settled_with_customer", "other")
#: Agents record withdrawals (回访专员), and their manager.
WITHDRAWING_ROLES = (AGENT, CS_MANAGER)


def check_can_withdraw(uow: UnitOfWork, actor: Actor, complaint_id: int) -> None:
    """Refuse (NotFound, Forbidden) an actor who may not record a withdrawal of this complaint, whatever was
    posted: the complaint must be visible to them, and their role an agent's or the CS manager's."""
    complaint = uow.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(Code.COMPLAINT_NOT_FOUND, complaint=complaint_id)
    _check(actor, complaint)


def _check(actor: Actor, complaint: Complaint) -> None:
    access.check_can_view(actor, complaint)
    if actor.role not in WITHDRAWING_ROLES:
        raise Forbidden(Code.WITHDRAW_NOT_ALLOWED, role=actor.role)


@use_case
def withdraw(uow: UnitOfWork, actor: Actor, complaint_id: int, reason: str, note: str) -> None:
    """Record that the customer withdrew the complaint; it closes as withdrawn (`end_withdrawn`).

    `reason` is one of `REASONS`; `note` says more and is required with `other`. Refused: a role other than
    an agent or the CS manager (Forbidden), a closed complaint or a model version without the withdrawal
    (Conflict), a bad reason or note (InvalidInput).
    """
    session = uow.session
    now = clock.now()
    note = (note or "").strip()
    errors = {}
    if reason not in REASONS:
        errors["reason"] = [error(Code.ONE_OF, options=", ".join(REASONS))]
    if reason == "other" and not note:
        errors["note"] = [error(FormCode.REQUIRED)]
    elif problems := text_errors(note, required=False):
        errors["note"] = problems
    with progress.locked_case(session, complaint_id, now) as case:
        complaint = case.complaint
        _check(actor, complaint)
        if complaint.status != "open":
            raise Conflict(Code.COMPLAINT_CLOSED)
        if errors:
            raise InvalidInput(errors)
        payload = {"reason": reason, "note": note, "recorded_by": actor.username}
        if not (runtime.waits_for_message(case.workflow, WITHDRAWN_MESSAGE)
                and runtime.send_message(case.workflow, WITHDRAWN_MESSAGE, payload)):
            raise Conflict(Code.NO_WITHDRAWAL_IN_MODEL)
        audit.record(session, complaint.id, actor, "complaint_withdrawn",
                     data={"withdrawal_reason": reason, "note": note})
