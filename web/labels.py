"""Names of the engine's codes (roles, departments, statuses, events…) in the page language."""
from __future__ import annotations

from flask import g, has_request_context

from web.catalogue import lazy_gettext as _l

ROLES = {
    "agent": _l("Agent"),
    "department_head": _l("Department head"),
    "cs_manager": _l("Customer-service manager"),
    "general_manager": _l("General manager"),
    "process_owner": _l("Process owner"),
    "admin": _l("Administrator"),
    "system": _l("System"),
}

#: Accounts that act without being a person (`web.present.person`).
ACTORS = {"startup": _l("the system (start-up)"), "system": _l("the system"), "customer": _l("the customer")}

STATUSES = {"open": _l("Open"), "closed": _l("Closed")}

#: Why a customer withdrew (撤诉; engine.complaints.withdrawal.REASONS).
WITHDRAWAL_REASONS = {
    "refunded": _l("Refunded: the customer withdrew the platform complaint"),
    "platform_dispute_closed": _l("The platform dispute was closed"),
    "settled_with_customer": _l("Settled with the customer"),
    "other": _l("Other reason"),
}

CONTACT_CHANNELS = {
    "phone": _l("Phone"),
    "sms": _l("SMS"),
    "email": _l("E-mail"),
    "on_site": _l("On site"),
    "platform_message": _l("Platform message"),
    "web": _l("Web form"),
    "other": _l("Other"),
}

SCOPES = {
    "mine": _l("My tasks"),
    "queue": _l("My queue"),
    "overdue": _l("Overdue"),
    "due_soon": _l("Due soon"),
    "all": _l("All open tasks"),
}

#: Timeline sentences by audit event kind; `%(task)s` is the task's title.
EVENTS = {
    "complaint_started": _l("recorded the complaint"),
    "task_opened": _l("Task opened: %(task)s"),
    "task_completed": _l("completed %(task)s"),
    "task_claimed": _l("took %(task)s"),
    "task_assigned": _l("assigned %(task)s to a colleague"),
    "acted_as_deputy": _l("worked %(task)s as the department head's deputy"),
    "task_released": _l("put %(task)s back into the queue"),
    "task_cancelled": _l("Task cancelled: %(task)s"),
    "complaint_closed": _l("The complaint was closed"),
    "complaint_withdrawn": _l("recorded that the customer withdrew the complaint"),
    "comment_added": _l("added a comment"),
    "contact_recorded": _l("recorded a contact with the customer"),
    "evidence_added": _l("added evidence"),
    "deadline_warning": _l("Deadline near: %(task)s"),
    "deadline_breached": _l("Deadline passed: %(task)s"),
    "task_escalated": _l("Escalated: %(task)s"),
    "deferral_requested": _l("asked to defer %(task)s"),
    "deferral_approved": _l("approved deferring %(task)s"),
    "deferral_rejected": _l("rejected deferring %(task)s"),
    "timer_incident": _l("A deadline timer failed: %(task)s"),
    "incident_retried": _l("retried a failed deadline timer"),
    "survey_answered": _l("The customer answered the satisfaction survey"),
    "customer_link_sent": _l("sent the customer's link by e-mail"),
    "customer_link_revoked": _l("revoked the customer's links"),
    "customer_flagged": _l("The customer was flagged"),
    "customer_merged": _l("merged a duplicate customer record"),
    "remedy_added": _l("started tracking a refund, return or claim"),
    "remedy_updated": _l("updated a refund, return or claim"),
    "responsible_named": _l("named the directly responsible person"),
    "passed_to_agent": _l("recorded the complaint and passed it to the agents to follow"),
    "special_case_reported": _l("Reported at once to the general manager and the customer-service manager"),
    "penalty_decided": _l("decided a deduction at %(task)s"),
    "complaint_migrated": _l("moved the complaint to a newer version of the process model"),
    "classification_decided": _l("decided the complaint's category"),
}
#: Why a customer is flagged (engine.complaints.customers.FLAGS).
CUSTOMER_FLAGS = {"repeat": _l("Repeat complainant"), "malicious": _l("Harassment / malicious complaints")}
#: Field names of engine-made event data (not from a form).
EVENT_FIELDS = {
    "role": _l("Role"),
    "department": _l("Department"),
    "outcome": _l("Outcome"),
    "body": _l("Comment"),
    "contacted_at": _l("Time of contact"),
    "channel": _l("Channel"),
    "summary": _l("What was said"),
    "name": _l("File"),
    "kind": _l("Type"),
    "size": _l("Size"),
    "due_at": _l("Deadline"),
    "deadline": _l("Deadline"),
    "amount": _l("Deduction (yuan)"),
    "to": _l("Escalated to"),
    "person_id": _l("Person responsible"),
    "timer": _l("Timer"),
    "evidence_id": _l("File id"),
    "reason": _l("Reason"),
    "withdrawal_reason": _l("Why the customer withdrew"),
    "until": _l("New deadline"),
    "note": _l("Note"),
    "round": _l("Round"),
    "satisfied": _l("Satisfied"),
    "rating": _l("Rating (1–5)"),
    "comment": _l("Comment"),
    "applied": _l("Decided the follow-up"),
    "generation": _l("Links revoked so far"),
    "from_version": _l("From version"),
    "to_version": _l("To version"),
    "from_hash": _l("From model"),
    "to_hash": _l("To model"),
    "person": _l("Person"),
    "assignee": _l("Assigned to"),
    "previous": _l("Held before by"),
    "on_behalf_of": _l("On behalf of"),
    "action": _l("Action"),
    "level": _l("Level"),
    "category": _l("Category"),
    "suggested": _l("Suggested category"),
    "kept": _l("Suggestion kept"),
    "flag": _l("Flag"),
    "customer": _l("Customer record"),
    "from": _l("Merged record"),
    "into": _l("Kept record"),
    "error": _l("Error"),
}
#: Actions a deputy took (the `action` of an `acted_as_deputy` event).
DEPUTY_ACTIONS = {"completed": _l("completed"), "claimed": _l("took"), "released": _l("put back"),
                  "assigned": _l("assigned")}

DEFERRAL_STATUSES = {
    "pending": _l("Waiting for a decision"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
}

#: Kinds of entries in the penalty ledger (engine.models.Penalty.kind).
PENALTY_KINDS = {
    "timeout": _l("Timeout deduction"),
    "responsible": _l("Deduction of the directly responsible person"),
    "supervisor": _l("Deduction of the department supervisor"),
}
#: Remedies tracked on a complaint (engine.complaints.remedies), their states and their form's fields.
REMEDY_KINDS = {"refund": _l("Refund"), "return": _l("Return parcel"), "reshipment": _l("Re-shipment"),
                "courier_claim": _l("Claim against the courier")}
REMEDY_STATES = {"promised": _l("Promised"), "done": _l("Refunded"), "awaiting": _l("Awaiting the parcel"),
                 "received": _l("Parcel received"), "sent": _l("Sent"), "delivered": _l("Delivered"),
                 "filed": _l("Claim filed"), "paid": _l("Claim paid"), "refused": _l("Claim refused")}
REMEDY_FIELDS = {"kind": _l("Remedy"), "amount": _l("Amount (yuan)"), "waybill": _l("Waybill number"),
                 "courier": _l("Courier"), "promised_on": _l("Promised for"), "note": _l("Note"),
                 "state": _l("Status"), "done_on": _l("Done on")}


#: How a decision table picks among matching rules (DMN hit policies), for the models page.
HIT_POLICIES = {
    "UNIQUE": _l("unique: at most one rule matches"),
    "FIRST": _l("first: the first matching rule decides"),
    "PRIORITY": _l("priority: the matching rule with the highest-priority output decides"),
    "ANY": _l("any: matching rules must agree"),
    "COLLECT": _l("collect: every matching rule"),
    "RULE ORDER": _l("rule order: every matching rule, in order"),
    "OUTPUT ORDER": _l("output order: every matching rule, by output priority"),
}


#: What a change between two model versions is about (`engine.modelling.diff.Change.what`: BPMN element kinds,
#: decision tables, forms), as process owners say it.
MODEL_PARTS = {
    "file": _l("file"), "lane": _l("lane"), "decision": _l("decision table"), "rule": _l("rule"),
    "form": _l("form"), "field": _l("form field"), "ui": _l("form layout"), "test case": _l("test case"),
    "userTask": _l("user task"), "manualTask": _l("manual task"), "scriptTask": _l("script task"),
    "businessRuleTask": _l("business rule task"), "serviceTask": _l("service task"), "sendTask": _l("send task"),
    "receiveTask": _l("receive task"), "task": _l("task"), "callActivity": _l("call activity"),
    "subProcess": _l("subprocess"), "startEvent": _l("start event"), "endEvent": _l("end event"),
    "boundaryEvent": _l("boundary event"), "intermediateCatchEvent": _l("intermediate catch event"),
    "intermediateThrowEvent": _l("intermediate throw event"), "exclusiveGateway": _l("exclusive gateway"),
    "parallelGateway": _l("parallel gateway"), "inclusiveGateway": _l("inclusive gateway"),
    "eventBasedGateway": _l("event-based gateway"), "sequenceFlow": _l("sequence flow"),
    "textAnnotation": _l("text annotation"), "association": _l("association"),
}
#: The attributes a model change names (`engine.modelling.diff`: "name: before → after"), as process owners say
#: them; values stay as the model has them.
MODEL_ATTRIBUTES = {
    "name": _l("name"), "lane": _l("lane"), "sourceRef": _l("from"), "targetRef": _l("to"),
    "attachedToRef": _l("attached to"), "cancelActivity": _l("interrupts the task"), "default": _l("default path"),
    "condition": _l("condition"), "script": _l("script"), "event": _l("event"), "timer": _l("timer"),
    "message": _l("message"), "instructionsForEndUser": _l("instructions"),
    "instructions_en": _l("instructions (English)"),
    "preScript": _l("pre-script"), "postScript": _l("post-script"), "calledDecisionId": _l("decision called"),
    "messageVariable": _l("message variable"), "formJsonSchemaFilename": _l("form file"),
    "formUiSchemaFilename": _l("form layout file"), "title_en": _l("English name"),
    "customerStage": _l("stage shown to the customer"), "sla": _l("time limit kind"), "hit policy": _l("hit policy"),
    "inputs": _l("inputs"), "outputs": _l("outputs"), "when": _l("when"), "then": _l("then"),
    "description": _l("description"), "required": _l("required"), "title": _l("title"), "type": _l("type"),
    "value": _l("value"), "case": _l("test case"),
}
#: Sentences of a model change that are not "attribute: value" (`engine.modelling.diff`).
MODEL_CHANGE_TEXTS = {"the text changed": _l("the text changed")}


def label(table: dict, code: str | None) -> str:
    """The name of `code` in `table`, or the code itself when the engine knows more codes than we do."""
    if code is None:
        return ""
    return str(table[code]) if code in table else code


def department_names(chinese: bool | None = None) -> dict[str, str]:
    """Every department's name in the page language (or as `chinese` says) by code, in the administrator's
    order (the departments table, read once per request, in the request's read unit of work:
    docs/ARCHITECTURE.md, "Departments")."""
    from engine.people import departments
    from web.context import reading
    from web.i18n import lang

    if "department_names" not in g:
        with reading() as uow:
            g.department_names = departments.names(uow.session)
    chinese = lang() == "zh" if chinese is None else chinese
    return {code: zh if chinese else en for code, (zh, en) in g.department_names.items()}


def department(code: str | None, chinese: bool | None = None) -> str:
    """A department's name in the page language (or in Chinese / English as `chinese` says); the code itself
    outside a request (the CLI) or for a code the table lacks."""
    if not code:
        return ""
    if not has_request_context():
        return code
    return department_names(chinese).get(code, code)
