"""Deferral requests: an agent asks to move a task's deadline; the general manager decides."""
from __future__ import annotations

from engine.complaints import deferrals
from engine.people.access import check_can_decide_deferrals
from web.api import schemas
from web.api.core import actor, operation
from web.context import reading, writing


@operation("/deferrals", "GET", tag="deferrals", summary="Deferral requests",
           description="The general manager sees every request (the ones to decide: `status=pending`); "
                       "everyone else sees the requests they made. With `complaint_id`: every request of "
                       "that complaint, as its page shows them. Oldest first.",
           query=schemas.DeferralQuery, response=schemas.DeferralDoc, many=True)
def list_deferrals(query: dict):
    status = None if query["status"] == "all" else query["status"]
    with reading() as uow:
        return deferrals.list_deferrals(uow, actor(), status, query.get("complaint_id"))


@operation("/deferrals", "POST", tag="deferrals", summary="Ask to move a task's deadline",
           body=schemas.DeferralBody, response=schemas.DeferralCreated, status=201,
           errors=(403, 404, 409, 422))
def request_deferral(body: dict):
    with writing() as uow:
        deferral_id = deferrals.request_deferral(uow, actor(), body["task_id"], body["reason"], body["until"])
    return {"id": deferral_id}


@operation("/deferrals/<int(max=2147483647):deferral_id>/decision", "POST", tag="deferrals",
           summary="Approve or reject a deferral request (general manager)", body=schemas.DecisionBody,
           status=204, errors=(403, 404, 409), permits=lambda me, deferral_id: check_can_decide_deferrals(me))
def decide_deferral(deferral_id: int, body: dict):
    with writing() as uow:
        deferrals.decide_deferral(uow, actor(), deferral_id, body["approve"], body["note"])
