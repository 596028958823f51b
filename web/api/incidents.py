"""Incidents: timers whose firing failed after every retry (administrators and process owners); the mailbox's
messages set aside or refused (administrators)."""
from __future__ import annotations

from dataclasses import asdict

from marshmallow import Schema, fields

from engine.complaints import incidents, mail_incidents
from web import messages
from web.api.core import actor, operation
from web.api.problems import request_gettext
from web.context import reading, writing

TIMER_ID = "<timer_id>"


class IncidentDoc(Schema):
    id = fields.String(metadata={"description": "the timer's id: retry it with POST /incidents/{id}/retry"})
    complaint_id = fields.Integer()
    reference = fields.String(allow_none=True)
    element = fields.String(metadata={"description": "the BPMN id of the timer event"})
    task = fields.String(allow_none=True, metadata={"description": "the BPMN id of the task it is attached to"})
    kind = fields.String(metadata={"description": "warning, deadline or timer"})
    error = fields.String(allow_none=True, metadata={
        "description": "the last attempt's error as stored: JSON with code, params and detail, or plain text "
                       "(older rows)"})
    reason = fields.String(allow_none=True, metadata={
        "description": "why it failed, in the request's language (Accept-Language); the stored text when it "
                       "has no code"})
    reason_code = fields.String(allow_none=True, metadata={"description": "step_failed_at, step_failed, "
                                                                          "timer_failed or timer_crashed"})
    reason_params = fields.Dict(metadata={"description": "the code's params (element, reason and its params; "
                                                         "kind; n and max)"})
    detail = fields.String(allow_none=True, metadata={"description": "the library's or Python's own words "
                                                                     "(technical)"})
    attempts = fields.Integer()
    due_at = fields.AwareDateTime()
    failed_at = fields.AwareDateTime(allow_none=True, metadata={"description": "when it became an incident"})


@operation("/incidents", "GET", tag="incidents", summary="Timers whose firing failed after every retry",
           description="Administrators and process owners; newest first.", response=IncidentDoc, many=True,
           errors=(403,), permits=lambda me: incidents.check_can_handle_incidents(me))
def list_incidents():
    with reading() as uow:
        found = incidents.incidents(uow, actor())
    say = request_gettext()
    return [_worded(i, say) for i in found]


def _worded(incident: incidents.Incident, say: messages.Gettext) -> dict:
    """An incident with why it failed worded in the request's language beside its code, params and detail."""
    failure = incident.failure
    coded = failure is not None and failure.code is not None
    return {**asdict(incident), "reason": messages.render(failure.code, failure.params, say) if coded
            else incident.error, "reason_code": failure.code if coded else None,
            "reason_params": failure.params if coded else {}, "detail": failure.detail if coded else None}


@operation(f"/incidents/{TIMER_ID}/retry", "POST", tag="incidents", summary="Put an incident back in the queue",
           description="After the cause is fixed: the timer is due again at once, with its attempts reset.",
           status=204, errors=(403, 404, 409),
           permits=lambda me, timer_id: incidents.check_can_handle_incidents(me))
def retry_incident(timer_id: str):
    with writing() as uow:
        incidents.retry_incident(uow, actor(), timer_id)


MAIL_ID = "<int(max=2147483647):incident_id>"


class MailIncidentDoc(Schema):
    id = fields.Integer(metadata={"description": "retry it with POST /mail/incidents/{id}/retry, or dismiss it"})
    message_id = fields.String(metadata={"description": "the Message-ID (or sha256: digest of a message without)"})
    sender = fields.String()
    subject = fields.String()
    error = fields.String(allow_none=True, metadata={"description": "the last attempt's error"})
    attempts = fields.Integer()
    first_attempt_at = fields.AwareDateTime()
    failed_at = fields.AwareDateTime(allow_none=True, metadata={"description": "when it was set aside"})
    size = fields.Integer(metadata={"description": "bytes of the kept copy a retry files"})


class RefusedMailDoc(Schema):
    id = fields.Integer()
    message_id = fields.String()
    sender = fields.String()
    subject = fields.String()
    reason = fields.String(allow_none=True, metadata={
        "description": "invalid_sender, invalid_message or rate_limited (null: refused before reasons were kept)"})
    processed_at = fields.AwareDateTime()


def _admin(me) -> None:
    mail_incidents.check_can_handle(me)


@operation("/mail/incidents", "GET", tag="incidents", summary="Mailbox messages set aside after every attempt failed",
           description="Administrators; newest first.", response=MailIncidentDoc, many=True, errors=(403,),
           permits=_admin)
def list_mail_incidents():
    with reading() as uow:
        return mail_incidents.incidents(uow, actor())


#: What both actions on a set-aside message share: administrators only, no body, the message by its id.
_MAIL_ACTION = dict(tag="incidents", status=204, errors=(403, 404, 409), permits=lambda me, incident_id: _admin(me))


@operation(f"/mail/incidents/{MAIL_ID}/retry", "POST", summary="File a set-aside message again",
           description="After the cause is fixed: the mailbox worker's next pass files the kept copy.", **_MAIL_ACTION)
def retry_mail_incident(incident_id: int):
    with writing() as uow:
        mail_incidents.retry(uow, actor(), incident_id)


@operation(f"/mail/incidents/{MAIL_ID}/dismiss", "POST", summary="Leave a set-aside message unfiled",
           description="It stays, read, in the mailbox; the kept copy is dropped.", **_MAIL_ACTION)
def dismiss_mail_incident(incident_id: int):
    with writing() as uow:
        mail_incidents.dismiss(uow, actor(), incident_id)


@operation("/mail/refused", "GET", tag="incidents", summary="Mailbox messages refused, with the reason's code",
           description=f"Administrators; newest first, the latest {mail_incidents.REFUSED_SHOWN}.",
           response=RefusedMailDoc, many=True, errors=(403,), permits=_admin)
def list_refused_mail():
    with reading() as uow:
        return mail_incidents.refused(uow, actor()).items
