"""Complaints: record (with an optional Idempotency-Key), list with filters, read with the timeline, record the
customer's withdrawal (撤诉)."""
from __future__ import annotations

from flask import current_app, request

from engine.complaints import casework, idempotency, intake, search, withdrawal
from engine.models import Complaint
from engine.people.access import check_can_record, check_can_see_complaints
from web.api import schemas
from web.api.core import Reply, actor, operation
from web.context import reading, reading_reports, state, writing
from web.customer import customer_link

SCOPE = "complaints.create"


@operation("/complaints", "POST", tag="complaints", summary="Record a complaint",
           description="Starts the complaint's lifecycle on the current model version and queues the "
                       "customer's private link. With an `Idempotency-Key` header a repeat of the same "
                       "request returns the first answer (header `Idempotent-Replayed: true`) and records "
                       "nothing; the same key with a different body is a 422.",
           body=schemas.INTAKE_BODY, response=schemas.CreatedComplaint, status=201, errors=(403, 404, 422),
           permits=check_can_record,
           headers={"Idempotency-Key": "makes a repeat of this request harmless (at most 200 characters)"})
def create_complaint(body: dict):
    me = actor()
    key_text = request.headers.get(idempotency.KEY_FIELD)
    key = idempotency.make_key(me.id, SCOPE, key_text, body) if key_text is not None else None
    with writing() as uow:
        recorded = intake.record_complaint(uow, state().settings, me, body, current_app.secret_key, key)
    headers = {"Location": f"/api/v1/complaints/{recorded.result.complaint_id}"}
    if recorded.replayed:
        headers["Idempotent-Replayed"] = "true"
    data = {**recorded.result.__dict__, "customer_link": recorded.customer_link}
    return Reply(data, headers=headers)


@operation("/complaints", "GET", tag="complaints", summary="List complaints",
           description="Newest first. Department heads see their own department's complaints only; "
                       "process owners none (403).",
           query=schemas.ComplaintQuery, response=schemas.ComplaintPage, errors=(403,),
           permits=check_can_see_complaints)
def list_complaints(query: dict):
    filters = search.Filters(
        status=query.get("status"), level=query.get("level"), category=query.get("category"),
        department=query.get("department"), channel=query.get("channel"),
        created_from=query.get("created_from"), created_until=query.get("created_until"), text=query.get("q"))
    with reading_reports() as uow:
        page = search.search(uow, actor(), filters, page=query["page"], per_page=query["per_page"])
    return {"items": page.items, "page": page.page, "per_page": page.per_page, "total": page.total,
            "pages": page.pages}


@operation("/complaints/form", "GET", tag="complaints", summary="The intake form of the current model",
           response=schemas.IntakeForm, errors=(404,))
def intake_form():
    with reading() as uow:
        meta = intake.intake_form(uow, state().settings.process_id)
    if meta is None:
        return {"title": "", "title_en": "", "instructions": "", "instructions_en": "",
                "form": {"schema": {"type": "object"}, "ui": {}}}
    return {"title": meta.title, "title_en": meta.title_en, "instructions": meta.instructions,
            "instructions_en": meta.instructions_en, "form": {"schema": meta.form.schema, "ui": meta.form.ui}}


@operation("/complaints/<int(max=2147483647):complaint_id>", "GET", tag="complaints",
           summary="A complaint with its timeline", response=schemas.ComplaintDetail, errors=(403, 404))
def get_complaint(complaint_id: int):
    with reading() as uow:
        details = casework.complaint_details(uow, actor(), complaint_id)
        complaint = casework.get_complaint(uow, actor(), complaint_id)
    data = {column: getattr(complaint, column) for column in schemas.ComplaintDetail._declared_fields
            if hasattr(Complaint, column)}
    data.update(lock_version=complaint.lock_version, process_version=details["process_version"],
                open_tasks=details["open_tasks"], breaches=details["breaches"], timeline=details["audit"],
                customer_link=customer_link(complaint))
    return data


def _check_can_withdraw(me, complaint_id: int) -> None:
    with reading() as uow:
        withdrawal.check_can_withdraw(uow, me, complaint_id)


@operation("/complaints/<int(max=2147483647):complaint_id>/withdraw", "POST", tag="complaints",
           summary="Record that the customer withdrew the complaint (撤诉)",
           description="An agent or the CS manager records the withdrawal with its reason, at any open stage, "
                       "as on the complaint page: every open task and time limit ends and the complaint "
                       "closes with the outcome `end_withdrawn`. A note is required with the reason `other`. "
                       "409 when the complaint is closed already, or its model version has no withdrawal "
                       "(a user task without the `complaint_withdrawn` boundary event is open).",
           body=schemas.WithdrawBody, status=204, errors=(403, 404, 409, 422),
           permits=_check_can_withdraw)
def withdraw_complaint(complaint_id: int, body: dict):
    with writing() as uow:
        withdrawal.withdraw(uow, actor(), complaint_id, body["reason"], body["note"])
