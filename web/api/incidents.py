"""Incidents: timers whose firing failed after every retry (administrators and process owners)."""
from __future__ import annotations

from marshmallow import Schema, fields

from engine.complaints import incidents
from web.api.core import actor, operation
from web.context import reading, writing

TIMER_ID = "<timer_id>"


class IncidentDoc(Schema):
    id = fields.String(metadata={"description": "the timer's id: retry it with POST /incidents/{id}/retry"})
    complaint_id = fields.Integer()
    reference = fields.String(allow_none=True)
    element = fields.String(metadata={"description": "the BPMN id of the timer event"})
    task = fields.String(allow_none=True, metadata={"description": "the BPMN id of the task it is attached to"})
    kind = fields.String(metadata={"description": "warning, deadline or timer"})
    error = fields.String(allow_none=True, metadata={"description": "the last attempt's error"})
    attempts = fields.Integer()
    due_at = fields.AwareDateTime()
    failed_at = fields.AwareDateTime(allow_none=True, metadata={"description": "when it became an incident"})


@operation("/incidents", "GET", tag="incidents", summary="Timers whose firing failed after every retry",
           description="Administrators and process owners; newest first.", response=IncidentDoc, many=True,
           errors=(403,), permits=lambda me: incidents.check_can_handle_incidents(me))
def list_incidents():
    with reading() as uow:
        return incidents.incidents(uow, actor())


@operation(f"/incidents/{TIMER_ID}/retry", "POST", tag="incidents", summary="Put an incident back in the queue",
           description="After the cause is fixed: the timer is due again at once, with its attempts reset.",
           status=204, errors=(403, 404, 409),
           permits=lambda me, timer_id: incidents.check_can_handle_incidents(me))
def retry_incident(timer_id: str):
    with writing() as uow:
        incidents.retry_incident(uow, actor(), timer_id)
