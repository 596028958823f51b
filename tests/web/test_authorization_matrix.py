"""The authorisation matrix: every route of the app × every role → allowed, or refused as designed.

`MATRIX` holds one decision per endpoint and HTTP method: the roles that pass its check, the statuses
that mean "the check passed and the view ran", and what everyone else gets. The app's URL map is compared
with it, so a new route without a decision (or a decision for a route that is gone) fails the test.

Every request is made against real objects: a complaint of the logistics department waiting at
`analyse_and_propose` (the logistics head's task), its evidence, a decided and a pending deferral request,
the deployed model version, modellers' drafts, a spare API token and the customer's signed link. Requests
carry a body that would change something for an allowed role, so a refusal is the role check and not
input validation; allowed roles are sent where possible into a harmless ending (a stale form version,
a request already decided, a draft without test cases), given in each entry's `ok` statuses.

Refusals run first, all of them, and must leave the database and the evidence folder exactly as they
were; then every allowed role must get one of the `ok` statuses.
"""
from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import select

from engine.complaints import customer_link as surveys
from engine.complaints import deferrals, evidence, mail_attempts, mail_incidents
from engine.db import UnitOfWork
from engine.modelling import drafts as model_drafts
from engine.models import AuditEvent, Complaint, MailAttempt, ProcessVersion, Timer
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from tests.fingerprint import fingerprint
from tests.lifecycle import ANSWERS, INTAKE, open_task, start, step

# --- who -----------------------------------------------------------------------------------------------

ANONYMOUS = "anonymous"
#: Not signed in either, but with a forged credential: a session cookie signed with another key on
#: pages, an unknown bearer token on the API. It must get exactly what the anonymous visitor gets.
FORGED = "forged credential"
AGENT = "agent"
HEAD = "department_head"  # of the complaint's department (logistics)
OTHER_HEAD = "other_department_head"  # of another department (quality)
CS_MANAGER = "cs_manager"
GM = "general_manager"
OWNER = "process_owner"
ADMIN = "admin"

#: The demo user (engine/bootstrap.py) who plays each signed-in role.
USERS = {AGENT: "agent1", HEAD: "head_logistics", OTHER_HEAD: "head_quality", CS_MANAGER: "cs_manager",
         GM: "gm", OWNER: "owner", ADMIN: "admin"}
ROLES = (ANONYMOUS, FORGED, *USERS)

PUBLIC = frozenset({ANONYMOUS, *USERS})
STAFF = frozenset(USERS)
#: See complaints at all: everyone but process owners, who work on the models (least privilege).
SEARCHERS = STAFF - {OWNER}
#: May see the complaint: department heads see their own department's complaints only.
READERS = SEARCHERS - {OTHER_HEAD}
#: May add comments, contacts and evidence: the roles that work on complaints (engine.people.access).
CONTRIBUTORS = frozenset({AGENT, HEAD, CS_MANAGER, GM})
#: May record a complaint (engine.people.roles.INTAKE_ROLES).
RECORDERS = frozenset({AGENT, CS_MANAGER})
#: May record a new complaint (engine.people.roles.RECORDING_ROLES): anyone who hears a grievance.
STAFF_RECORDERS = CONTRIBUTORS | {OTHER_HEAD}
#: May work the open task, `analyse_and_propose` of the logistics department.
HOLDER = frozenset({HEAD})
#: Decides deferral requests.
DECIDER = frozenset({GM})
#: Manage the process models (engine.modelling.deployment.MODELLER_ROLES).
MODELLERS = frozenset({OWNER, ADMIN})
#: See and retry incidents, failed timers (engine.complaints.incidents.INCIDENT_ROLES).
INCIDENT_HANDLERS = frozenset({OWNER, ADMIN})
#: See the mailbox's set-aside and refused messages (customers' addresses): administrators only
#: (engine.complaints.mail_incidents).
MAIL_HANDLERS = frozenset({ADMIN})
#: Receive reports (engine.complaints.reports.REPORT_ROLES): everyone but process owners.
REPORT_READERS = STAFF - {OWNER}
#: Assign the open task to a named colleague: the managers, and the head of its department.
ASSIGNERS = frozenset({HEAD, CS_MANAGER, GM})
#: Appoint deputies (责任代理人): department heads, for their own department.
HEADS = frozenset({HEAD, OTHER_HEAD})
ADMINS = frozenset({ADMIN})
#: A user the administrator's routes name (agent1, the first demo user).
SOME_USER = 1

# --- what ------------------------------------------------------------------------------------------------

#: The role passes the check: the status is one of the case's `ok` statuses.
OK = "ok"
#: A signed-out visitor on a staff page: 302 to the sign-in page (with `next`).
SIGN_IN = 302
#: No or a bad token on the API: 401 problem+json.
UNAUTHENTICATED = 401
PROCESS = "complaint_lifecycle"
#: The modellers' drafts hold this file so that the delete-file route has something to delete.
SPARE_DRAFT_FILE = "forms/matrix_spare.schema.json"
EMPTY_FORM = '{"type": "object", "properties": {}}'
#: A BPMN file of another process: uploading it starts a draft of that process, not of ours.
PROBE_BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="probe" targetNamespace="urn:probe">
  <bpmn:process id="matrix_probe" isExecutable="true" />
</bpmn:definitions>
"""


@dataclass(frozen=True)
class Objects:
    """The real objects the URLs and bodies name."""

    complaint: int
    task: str
    #: The complaint's lock_version before the last step: a task form sent with it is refused as stale.
    stale_version: int
    evidence: str
    #: Already rejected: the general manager's decision on it is a 409, nothing moves.
    decided_deferral: int
    version: int
    #: An API token of agent1 that only the revoke route uses.
    spare_token: int
    link: str
    #: The customer's link signed with another key.
    forged_link: str
    #: A survey offer of the current round, signed as the customer's page would sign it.
    offer: str
    #: A waiting timer of the complaint: retrying it as an incident is a 409, nothing moves.
    timer: str
    #: A mailbox message set aside and dismissed already: retrying or dismissing it is a 409, nothing moves.
    mail_incident: int


Body = Callable[[Objects], dict]


@dataclass(frozen=True)
class Case:
    """One endpoint and method: the request to make and who passes its check."""

    #: The path, formatted with `o` (the Objects).
    url: str
    #: Roles that pass the check.
    allowed: frozenset[str]
    #: What an allowed role gets: the view ran (the `ok` of each entry says why a 4xx is among them).
    ok: tuple[int, ...] = (200,)
    #: What a signed-in role outside `allowed` gets.
    refused: int = 403
    #: Keyword arguments of the test client's request (data, json, files), made fresh for each request.
    body: Body | None = None
    #: The API: a bearer token per role instead of the session cookie, 401 without a valid one.
    bearer: bool = False
    #: The same route with a forged signed link: refused with `refused` for every role.
    forged_url: str | None = None
    #: Who may use it depends on an object the body names (so an empty body cannot be refused by role).
    object_in_body: bool = False

    @property
    def anonymous(self) -> int:
        """What a visitor without a valid credential gets."""
        return UNAUTHENTICATED if self.bearer else SIGN_IN


def page(url: str, allowed: frozenset[str], ok: tuple[int, ...] = (200,), **options) -> Case:
    """A page of the web UI (session cookie; signed-out visitors are sent to sign in)."""
    return Case(url, allowed, ok, **options)


def api(url: str, allowed: frozenset[str], ok: tuple[int, ...] = (200,), **options) -> Case:
    """An API operation (bearer token; none or a bad one is a 401 problem)."""
    return Case(url, allowed, ok, bearer=True, **options)


@dataclass(frozen=True)
class Request:
    """One cell of the matrix."""

    method: str
    case: Case
    url: str
    role: str
    #: OK when the role passes the check, else the status of its refusal.
    expected: int | str


def _form_values(data: dict) -> dict[str, str]:
    """Answers as a browser posts them."""
    return {k: ("true" if v else "false") if isinstance(v, bool) else str(v) for k, v in data.items()}


def _upload(name: str, content: bytes) -> Body:
    """A multipart request with one file in the field `files`."""
    return lambda o: {"data": {"files": (io.BytesIO(content), name)}}


ANSWER = ANSWERS["analyse_and_propose"]
CONTACT = {"contacted_at": "2026-11-23T16:30", "channel": "phone", "summary": "顾客确认收到"}
#: Later than the task's deadline and within the allowed deferral, in the staff's time zone.
DEFERRAL = {"until": "2026-11-25T17:00", "reason": "顾客出差联系不上"}

MATRIX: dict[str, dict[str, Case]] = {
    # --- public: signing in, the language switch, static files --------------------------------------
    "auth.login": {"GET": page("/login", PUBLIC),
                   "POST": page("/login", PUBLIC, body=lambda o: {"data": {}})},  # the form again, with errors
    "auth.language": {"POST": page("/language", PUBLIC, (302,),
                                   body=lambda o: {"data": {"locale": "zh", "next": "/"}})},
    "static": {"GET": page("/static/css/app.css", PUBLIC)},
    "auth.logout": {"POST": page("/logout", STAFF, (302,))},
    # --- tasks ----------------------------------------------------------------------------------------
    "tasks.index": {"GET": page("/", STAFF, (302,))},
    "tasks.task_list": {"GET": page("/tasks/queue", STAFF)},  # each sees their own queue
    "tasks.show": {"GET": page("/task/{o.task}", HOLDER)},
    "tasks.claim": {"POST": page("/tasks/{o.task}/claim", HOLDER, (302,))},
    "tasks.release": {"POST": page("/tasks/{o.task}/release", HOLDER, (302,))},
    # A complete answer with a stale version: the holder gets the 409 page, nothing is saved.
    "tasks.submit": {"POST": page("/task/{o.task}", HOLDER, (409,), body=lambda o: {
        "data": {**_form_values(ANSWER), "_version": str(o.stale_version)}})},
    # A request is pending already: the holder gets 409.
    "tasks.request_deferral": {"POST": page("/task/{o.task}/deferral", HOLDER, (409,),
                                            body=lambda o: {"data": DEFERRAL})},
    # Bulk claim: everyone may post; what their role may not claim is skipped (here: nothing ticked).
    "tasks.claim_many": {"POST": page("/tasks/claim", STAFF, (302,))},
    "tasks.assign": {"GET": page("/task/{o.task}/assign", ASSIGNERS),
                     # agent1 cannot work the logistics head's task: 422, nothing assigned.
                     "POST": page("/task/{o.task}/assign", ASSIGNERS, (422,), body=lambda o: {
                         "data": {"assignee": "agent1"}})},
    # --- the first page, deputies ------------------------------------------------------------------------
    "desk.home": {"GET": page("/home", STAFF, (200, 302))},  # process owners are sent on to the models
    "desk.deputies_page": {"GET": page("/deputies", HEADS)},
    # A period that ended before it began: 422, nobody appointed.
    "desk.appoint": {"POST": page("/deputies", HEADS, (422,), body=lambda o: {"data": {
        "deputy": "agent2", "starts_at": "2026-11-24T09:00", "ends_at": "2026-11-23T09:00"}})},
    "desk.end_appointment": {"POST": page("/deputies/999999/end", HEADS, (404,))},  # no such appointment
    # --- administration, one's own password ------------------------------------------------------------------
    "admin.users": {"GET": page("/admin/users", ADMINS)},
    "admin.new_user": {"GET": page("/admin/users/new", ADMINS),
                       # A password too short: 422, nobody added.
                       "POST": page("/admin/users/new", ADMINS, (422,), body=lambda o: {"data": {
                           "username": "matrix_user", "display_name": "矩阵", "role": "agent", "department": "",
                           "email": "", "password": "short"}})},
    "admin.edit_user": {"GET": page(f"/admin/users/{SOME_USER}", ADMINS)},
    # An empty display name: 422, nothing changed.
    "admin.update_user": {"POST": page(f"/admin/users/{SOME_USER}", ADMINS, (422,), body=lambda o: {"data": {
        "display_name": "", "role": "agent", "department": "", "email": ""}})},
    # agent1 is active already: nothing changes.
    "admin.set_active": {"POST": page(f"/admin/users/{SOME_USER}/active", ADMINS, (302,),
                                      body=lambda o: {"data": {"active": "1"}})},
    "admin.reset_password": {"POST": page(f"/admin/users/{SOME_USER}/password", ADMINS, (422,),
                                          body=lambda o: {"data": {"password": "short"}})},
    "admin.all_tokens": {"GET": page("/admin/tokens", ADMINS)},
    "admin.customer_links": {"GET": page("/admin/customer-links", ADMINS)},
    "admin.record": {"GET": page("/admin/record", ADMINS)},
    # --- departments: every refusal leaves the table as it was ----------------------------------------------
    "departments.index": {"GET": page("/admin/departments", ADMINS)},
    # A code with capitals and a space: 422, nothing added.
    "departments.new": {"GET": page("/admin/departments/new", ADMINS),
                        "POST": page("/admin/departments/new", ADMINS, (422,), body=lambda o: {"data": {
                            "code": "Bad Code", "name_zh": "矩阵部", "name_en": "Matrix"}})},
    "departments.edit": {"GET": page("/admin/departments/logistics", ADMINS)},
    # An empty Chinese name: 422, nothing renamed.
    "departments.rename": {"POST": page("/admin/departments/logistics", ADMINS, (422,), body=lambda o: {"data": {
        "name_zh": "", "name_en": "Logistics"}})},
    # The shipped model routes to logistics and its head is active: deactivating is refused (422).
    "departments.set_active": {"POST": page("/admin/departments/logistics/active", ADMINS, (422,),
                                            body=lambda o: {"data": {"active": "0"}})},
    # The working calendar: a day without a name, a year the package lacks, an end before the start (422),
    # a day not entered (404) — nothing changes.
    "calendar.index": {"GET": page("/admin/calendar?year=2027", ADMINS)},
    "calendar.set_day": {"POST": page("/admin/calendar/days", ADMINS, (422,), body=lambda o: {"data": {
        "day": "2027-02-08", "kind": "holiday", "name": ""}})},
    "calendar.remove_day": {"POST": page("/admin/calendar/days/2027-02-08/remove", ADMINS, (404,))},
    "calendar.import_year": {"POST": page("/admin/calendar/import", ADMINS, (422,),
                                          body=lambda o: {"data": {"year": "2027"}})},
    "calendar.set_hours": {"POST": page("/admin/calendar/hours/logistics", ADMINS, (422,),
                                        body=lambda o: {"data": {"starts": "18:00", "ends": "09:00"}})},
    # The current password wrong: 422, nothing changed.
    "admin.own_password": {"GET": page("/account/password", STAFF),
                           "POST": page("/account/password", STAFF, (422,), body=lambda o: {"data": {
                               "current": "not-the-password", "password": "matrix-pass-2026"}})},
    # --- complaints -----------------------------------------------------------------------------------
    "complaints.new": {"GET": page("/complaints/new", STAFF_RECORDERS),
                       "POST": page("/complaints/new", STAFF_RECORDERS, (302,), body=lambda o: {"data": INTAKE})},
    "complaints.show": {"GET": page("/complaints/{o.complaint}", READERS)},
    "complaints.model": {"GET": page("/complaints/{o.complaint}/model.bpmn", READERS)},
    "complaints.comment": {"POST": page("/complaints/{o.complaint}/comments", CONTRIBUTORS, (302,),
                                        body=lambda o: {"data": {"body": "矩阵测试备注"}})},
    "complaints.contact": {"POST": page("/complaints/{o.complaint}/contacts", CONTRIBUTORS, (302,),
                                        body=lambda o: {"data": CONTACT})},
    "complaints.upload": {"POST": page("/complaints/{o.complaint}/evidence", CONTRIBUTORS, (302,),
                                       body=_upload("call-notes.txt", "通话记录".encode()))},
    # Allowed roles get the note's refusal: a withdrawal would close the complaint the other routes use.
    "complaints.withdraw": {"POST": page("/complaints/{o.complaint}/withdraw", RECORDERS, (422,),
                                         body=lambda o: {"data": {"reason": "other"}})},
    "complaints.download": {"GET": page("/evidence/{o.evidence}", READERS)},
    "complaints.view_file": {"GET": page("/evidence/{o.evidence}/view", READERS)},
    "complaints.print_view": {"GET": page("/complaints/{o.complaint}/print", READERS)},
    "customer.staff_link": {"GET": page("/complaints/{o.complaint}/customer-link", READERS)},
    # --- customer records: the matrix complaint's customer is the first record -----------------------------
    "customers.lookup": {"GET": page("/customers/lookup?contact=13800000000", SEARCHERS)},
    "customers.show": {"GET": page("/customers/1", SEARCHERS)},
    # Merging the record into itself: refused as a conflict, nothing changes.
    "customers.merge": {"POST": page("/customers/1/merge", RECORDERS, (409,),
                                     body=lambda o: {"data": {"duplicate": "1"}})},
    # --- the report's review: a blank summary / comment / volume is refused field by field (back to the report page)
    "report_review.submit": {"POST": page("/reports/review/submit", frozenset({AGENT, CS_MANAGER}), (302,),
                                          body=lambda o: {"data": {"kind": "month", "date": "2026-11-01"}})},
    # Nothing submitted for the period: the general manager's signature is a conflict, nothing changes.
    "report_review.sign": {"POST": page("/reports/review/sign", DECIDER, (409,),
                                        body=lambda o: {"data": {"kind": "month", "date": "2026-11-01",
                                                                 "comment": "同意"}})},
    # Nothing was sent: acknowledging is a conflict for everyone (whose copy it would be is checked after).
    "report_review.acknowledge": {"POST": page("/reports/review/acknowledge", STAFF, (409,),
                                               body=lambda o: {"data": {"kind": "month", "date": "2026-11-01"}})},
    "report_review.volume": {"POST": page("/reports/volume", frozenset({CS_MANAGER, GM, ADMIN}), (302,),
                                          body=lambda o: {"data": {"kind": "month", "date": "2026-11-01"}})},
    "report_review.import_volumes": {"POST": page("/reports/volumes/import", frozenset({CS_MANAGER, GM, ADMIN}),
                                                  (302,), body=lambda o: {"data": {"kind": "month",
                                                                                   "date": "2026-11-01"}})},
    # --- remedies: a remedy without its kind is refused field by field (back to the page), nothing recorded;
    # an unknown remedy of the complaint is a 404 for those who may change it.
    "remedies.add": {"POST": page("/complaints/{o.complaint}/remedies", CONTRIBUTORS, (302,),
                                  body=lambda o: {"data": {"amount": "10"}})},
    "remedies.change": {"POST": page("/complaints/{o.complaint}/remedies/999999", CONTRIBUTORS, (404,),
                                     body=lambda o: {"data": {"state": "done"}})},
    "customer.qr_code": {"GET": page("/complaints/{o.complaint}/customer-link/qr.svg", READERS)},
    # The matrix's customer gave a telephone number: the link cannot be e-mailed (back to the link page).
    "customer.email_link": {"POST": page("/complaints/{o.complaint}/customer-link/email", CONTRIBUTORS, (302,))},
    # --- the customer's pages: the signed link is the credential; any fault in it is a 404 --------------
    "customer.status": {"GET": page("/c/{o.link}", PUBLIC, refused=404, forged_url="/c/{o.forged_link}")},
    # An answer out of range: 422, nothing recorded.
    "customer.answer": {"POST": page("/c/{o.link}/survey", PUBLIC, (422,), refused=404,
                                     forged_url="/c/{o.forged_link}/survey",
                                     body=lambda o: {"data": {"offer": o.offer, "rating": "9"}})},
    # --- the public complaint form: no sign-in; a form without the required fields is a 422, nothing recorded
    "public.form": {"GET": page("/complain", PUBLIC)},
    "public.submit": {"POST": page("/complain", PUBLIC, (422,),
                                   body=lambda o: {"data": {"customer_name": "矩阵", "order_id": "M-1"}})},
    "public.submitted": {"GET": page("/complain/done", PUBLIC, (302,))},  # nothing submitted: back to the form
    # The suggested category is decided at the validity check, which this complaint has passed: 409.
    "classification.decide": {"POST": page("/complaints/{o.complaint}/classification", RECORDERS, (409,),
                                           body=lambda o: {"data": {"task": o.task, "category": "logistics"}})},
    # --- deferrals, notifications, search, reports ------------------------------------------------------
    "deferrals.index": {"GET": page("/deferrals", DECIDER)},
    # The request was rejected already: the general manager gets 409.
    "deferrals.decide": {"POST": page("/deferrals/{o.decided_deferral}", DECIDER, (409,),
                                      body=lambda o: {"data": {"decision": "approve"}})},
    "inbox.index": {"GET": page("/notifications", STAFF)},
    "inbox.open_message": {"POST": page("/notifications/999999/open", STAFF, (404,))},  # nobody's: not revealed
    "inbox.mark_all_read": {"POST": page("/notifications/read", STAFF, (302,))},
    "incidents.index": {"GET": page("/incidents", INCIDENT_HANDLERS)},
    "incidents.retry": {"POST": page("/incidents/{o.timer}/retry", INCIDENT_HANDLERS, (409,))},  # not failed
    "incidents.retry_mail": {"POST": page("/incidents/mail/{o.mail_incident}/retry", MAIL_HANDLERS, (409,))},
    "incidents.dismiss_mail": {"POST": page("/incidents/mail/{o.mail_incident}/dismiss", MAIL_HANDLERS, (409,))},
    "search.index": {"GET": page("/search", SEARCHERS)},  # scoped: department heads find their department's
    "search.export": {"GET": page("/search.csv", SEARCHERS)},
    "reports.index": {"GET": page("/reports", REPORT_READERS)},
    "reports.export_csv": {"GET": page("/reports/export.csv", REPORT_READERS)},
    "reports.export_xlsx": {"GET": page("/reports/export.xlsx", REPORT_READERS)},
    # --- one's own API tokens: someone else's token is not revealed (404) -------------------------------
    "api_tokens.index": {"GET": page("/account/api-tokens", STAFF)},
    "api_tokens.create": {"POST": page("/account/api-tokens", STAFF, body=lambda o: {"data": {"name": "matrix"}})},
    "api_tokens.revoke": {"POST": page("/account/api-tokens/{o.spare_token}/revoke", frozenset({AGENT, ADMIN}),
                                       (302,), refused=404)},
    # --- process models: process owners and administrators ---------------------------------------------
    "modelling.index": {"GET": page("/models/", MODELLERS)},
    "modelling.version": {"GET": page("/models/versions/{o.version}", MODELLERS)},
    "modelling.version_file": {"GET": page("/models/versions/{o.version}/files/routing.dmn", MODELLERS)},
    "modelling.export": {"GET": page("/models/versions/{o.version}/export.zip", MODELLERS)},
    "modelling.diff": {"GET": page("/models/diff?from={o.version}&to={o.version}", MODELLERS)},
    # The complaint runs on this version already: refused with a message, 303 back to the version.
    "modelling.migrate": {"POST": page("/models/versions/{o.version}/migrate", MODELLERS, (303,),
                                       body=lambda o: {"data": {"complaint_id": str(o.complaint)}})},
    "modelling.upload_new": {"POST": page("/models/upload", MODELLERS, (303,), body=_upload("probe.bpmn", PROBE_BPMN))},
    "modelling.form_preview": {"POST": page("/models/form-preview", MODELLERS,
                                            body=lambda o: {"json": {"schema": EMPTY_FORM}})},
    # The modellers' drafts have no test cases: valid, but never deployable.
    "modelling.open_draft": {"POST": page(f"/models/{PROCESS}/draft/open", MODELLERS, (303,))},
    "modelling.editor": {"GET": page(f"/models/{PROCESS}/draft", MODELLERS)},
    "modelling.draft_file": {"GET": page(f"/models/{PROCESS}/draft/files/routing.dmn", MODELLERS)},
    "modelling.save": {"POST": page(f"/models/{PROCESS}/draft/files", MODELLERS, body=lambda o: {
        "json": {"files": {"forms/matrix_saved.schema.json": EMPTY_FORM}}})},
    "modelling.upload": {"POST": page(f"/models/{PROCESS}/draft/upload", MODELLERS, (303,),
                                      body=_upload("forms/matrix_upload.schema.json", EMPTY_FORM.encode()))},
    "modelling.delete_file": {"POST": page(f"/models/{PROCESS}/draft/delete-file", MODELLERS, (303,),
                                           body=lambda o: {"data": {"path": SPARE_DRAFT_FILE}})},
    "modelling.validate": {"POST": page(f"/models/{PROCESS}/draft/validate", MODELLERS)},
    "modelling.run_tests": {"POST": page(f"/models/{PROCESS}/draft/test", MODELLERS)},
    "modelling.deploy": {"POST": page(f"/models/{PROCESS}/draft/deploy", MODELLERS, (422,))},  # no test cases
    "modelling.task_preview": {"GET": page(f"/models/{PROCESS}/draft/tasks/analyse_and_propose/preview",
                                           MODELLERS)},
    # Last of the draft routes: it throws the draft away.
    "modelling.discard": {"POST": page(f"/models/{PROCESS}/draft/discard", MODELLERS, (303,))},
    # --- the API: public description, everything else with a token --------------------------------------
    "api.index": {"GET": api("/api/v1/", PUBLIC)},
    "api.openapi_json": {"GET": api("/api/v1/openapi.json", PUBLIC)},
    # Anything else under /api/v1 is a 404 problem for everyone: it guards nothing and shows nothing.
    "api.unknown": {method: api("/api/v1/no-such-resource", PUBLIC, (404,))
                    for method in ("GET", "POST", "PUT", "PATCH", "DELETE")},
    "api.list_complaints": {"GET": api("/api/v1/complaints", SEARCHERS)},  # scoped like the search page
    "api.create_complaint": {"POST": api("/api/v1/complaints", STAFF_RECORDERS, (201,),
                                         body=lambda o: {"json": INTAKE})},
    "api.intake_form": {"GET": api("/api/v1/complaints/form", STAFF)},
    "api.get_complaint": {"GET": api("/api/v1/complaints/{o.complaint}", READERS)},
    # As on the page: the allowed roles get the note's refusal (422), and the complaint stays open.
    "api.withdraw_complaint": {"POST": api("/api/v1/complaints/{o.complaint}/withdraw", RECORDERS, (422,),
                                           body=lambda o: {"json": {"reason": "other"}})},
    "api.list_tasks": {"GET": api("/api/v1/tasks?scope=queue", STAFF)},
    "api.get_task": {"GET": api("/api/v1/tasks/{o.task}", HOLDER)},
    "api.claim_task": {"POST": api("/api/v1/tasks/{o.task}/claim", HOLDER, (204,))},
    "api.release_task": {"POST": api("/api/v1/tasks/{o.task}/release", HOLDER, (204,))},
    "api.complete_task": {"POST": api("/api/v1/tasks/{o.task}/complete", HOLDER, (409,), body=lambda o: {
        "json": {"data": ANSWER, "version": o.stale_version}})},  # stale version: 409
    # Everyone may list: the general manager sees every request, the others their own.
    "api.list_deferrals": {"GET": api("/api/v1/deferrals?status=all", STAFF)},
    "api.request_deferral": {"POST": api("/api/v1/deferrals", HOLDER, (409,), object_in_body=True, body=lambda o: {
        "json": {"task_id": o.task, "reason": DEFERRAL["reason"], "until": "2026-11-25T09:00:00+00:00"}})},
    "api.decide_deferral": {"POST": api("/api/v1/deferrals/{o.decided_deferral}/decision", DECIDER, (409,),
                                        body=lambda o: {"json": {"approve": True}})},
    "api.get_report": {"GET": api("/api/v1/reports/month", REPORT_READERS)},
    "api.list_incidents": {"GET": api("/api/v1/incidents", INCIDENT_HANDLERS)},
    "api.retry_incident": {"POST": api("/api/v1/incidents/{o.timer}/retry", INCIDENT_HANDLERS, (409,))},
    "api.list_mail_incidents": {"GET": api("/api/v1/mail/incidents", MAIL_HANDLERS)},
    "api.retry_mail_incident": {"POST": api("/api/v1/mail/incidents/{o.mail_incident}/retry", MAIL_HANDLERS,
                                            (409,))},
    "api.dismiss_mail_incident": {"POST": api("/api/v1/mail/incidents/{o.mail_incident}/dismiss", MAIL_HANDLERS,
                                              (409,))},
    "api.list_refused_mail": {"GET": api("/api/v1/mail/refused", MAIL_HANDLERS)},
    "api.list_versions": {"GET": api("/api/v1/process-models", MODELLERS)},
    # A broken routing.dmn laid over the current version: checked (200, not valid), never deployed (422).
    "api.validate_upload": {"POST": api("/api/v1/process-models/validate", MODELLERS,
                                        body=_upload("routing.dmn", b"<broken"))},
    "api.deploy_upload": {"POST": api("/api/v1/process-models/deploy", MODELLERS, (422,),
                                      body=_upload("routing.dmn", b"<broken"))},
    # Last but sign-out: revoking ends the link every customer route above uses.
    "customer.revoke_link": {"POST": page("/complaints/{o.complaint}/customer-link/revoke", CONTRIBUTORS, (302,))},
}
#: Not decided one by one: HEAD runs the GET view (the same check), Flask answers OPTIONS without a view.
IMPLICIT_METHODS = {"HEAD", "OPTIONS"}


def test_the_matrix_decides_every_route_and_method(app):
    """A route added without a decision, or a decision left for a removed route, fails here."""
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              for method in rule.methods - IMPLICIT_METHODS}
    decided = {(endpoint, method) for endpoint, cases in MATRIX.items() for method in cases}
    assert sorted(routes - decided) == [], "routes without a decision in MATRIX"
    assert sorted(decided - routes) == [], "MATRIX decides routes the app no longer has"


def test_every_route_for_every_role(app, system, login):
    """Each entry of MATRIX for each role: refusals first (they must change nothing), then the allowed."""
    objects = _objects(app, system)
    clients = _Clients(app, system, login)
    adapter = app.url_map.bind("localhost")
    requests = []
    for endpoint, cases in MATRIX.items():
        for method, case in cases.items():
            url = case.url.format(o=objects)
            # The entry must exercise its own route, not a neighbour that happens to match.
            assert adapter.match(urlsplit(url).path, method=method)[0] == endpoint, url
            for role in ROLES:
                requests.append(Request(method, case, url, role, _expected(case, role)))
                if case.body and not case.object_in_body and _expected(case, role) != OK:
                    # The role is checked first: an empty post gets the same refusal as a good one.
                    requests.append(Request(method, replace(case, body=None), url, role, _expected(case, role)))
                if case.forged_url:
                    requests.append(Request(method, case, case.forged_url.format(o=objects), role, case.refused))

    before = _complaint_state(system, objects.complaint), _database_state(system)
    problems = [p for r in requests if r.expected != OK and (p := _check(clients, objects, r))]
    assert problems == [], "\n".join(problems)
    # Refused requests change nothing: not the complaint, not any other row, not the evidence files.
    assert _complaint_state(system, objects.complaint) == before[0]
    assert _database_state(system) == before[1]

    # Signing out ends the session on the server, so each role signs out after everything else it may do.
    allowed = sorted((r for r in requests if r.expected == OK), key=lambda r: r.url == "/logout")
    problems = [p for r in allowed if (p := _check(clients, objects, r))]
    assert problems == [], "\n".join(problems)


def _expected(case: Case, role: str) -> int | str:
    """What the role must get from the case: OK, or the status of its refusal."""
    if role in (ANONYMOUS, FORGED):
        return OK if ANONYMOUS in case.allowed else case.anonymous
    return OK if role in case.allowed else case.refused


def _check(clients: _Clients, objects: Objects, request: Request) -> str | None:
    """Make the request; a description of what went wrong, or None."""
    case = request.case
    client = clients.api(request.role) if case.bearer else clients.page(request.role)
    response = client.open(request.url, method=request.method, **(case.body(objects) if case.body else {}))
    status, location = response.status_code, response.headers.get("Location", "")
    seen = f"{request.method} {request.url} as {request.role}: {status} {location}".rstrip()
    if request.expected == OK:
        # An allowed redirect must not be the sign-in page in disguise.
        if status not in case.ok or _to_sign_in(location):
            return f"{seen}, expected one of {case.ok}"
        return None
    if status != request.expected:
        return f"{seen}, expected {request.expected}"
    if request.expected == SIGN_IN and not _to_sign_in(location):
        return f"{seen}, expected a redirect to the sign-in page"
    if case.bearer and response.mimetype != "application/problem+json":
        return f"{seen}, expected a problem+json refusal, got {response.mimetype}"
    if request.expected == UNAUTHENTICATED and not response.headers.get("WWW-Authenticate", "").startswith("Bearer"):
        return f"{seen}, expected a WWW-Authenticate: Bearer challenge"
    return None


def _to_sign_in(location: str) -> bool:
    """Is this the redirect Flask-Login gives a signed-out visitor (the sign-in page, with `next`)?"""
    target = urlsplit(location)
    return target.path == "/login" and "next" in parse_qs(target.query)


class _Clients:
    """Fresh test clients per request, so that signing out or a flashed message never leaks into the next.
    Each comes from an address of its own: the matrix posts the sign-in form many times, and sign-in
    throttling (tested in tests/web/test_security.py) would otherwise answer 429."""

    def __init__(self, app, system, login):
        self.app = app
        self.addresses = itertools.count(1)
        self.cookies = {role: login(user).get_cookie("session").value for role, user in USERS.items()}
        # A well-formed session of the administrator, signed with a key that is not the app's.
        forger = Flask("forger")
        forger.secret_key = "not-the-app-secret"
        admin_id = system.actor(USERS[ADMIN]).id
        self.cookies[FORGED] = SecureCookieSessionInterface().get_signing_serializer(forger).dumps(
            {"_user_id": f"{admin_id}.0", "_fresh": True})
        self.tokens = {FORGED: api_tokens.TOKEN_PREFIX + "x" * 43}
        for role, user in USERS.items():
            with UnitOfWork(system.db) as uow:
                self.tokens[role] = api_tokens.create_token(uow, SYSTEM, user, "matrix")[1]
            # The first use records the time; with the clock frozen later uses write nothing.
            api_tokens.authenticate(system.db, self.tokens[role])

    def page(self, role: str):
        client = self._client()
        if role in self.cookies:
            client.set_cookie("session", self.cookies[role])
        return client

    def api(self, role: str):
        client = self._client()
        if role in self.tokens:
            client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {self.tokens[role]}"
        return client

    def _client(self):
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = _address(next(self.addresses))
        return client


def _address(n: int) -> str:
    return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def _objects(app, system) -> Objects:
    """A complaint at the logistics head's task with everything the routes name."""
    cid = start(system).complaint_id
    step(system, cid, "judge_validity")
    step(system, cid, "hand_over")
    task = open_task(system, cid)
    assert task.name == "analyse_and_propose" and task.department == "logistics"
    head, gm = system.actor(USERS[HEAD]), system.actor(USERS[GM])
    until = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    with UnitOfWork(system.db) as uow:
        decided = deferrals.request_deferral(uow, head, task.id, "顾客关机", until)
    with UnitOfWork(system.db) as uow:
        deferrals.decide_deferral(uow, gm, decided, approve=False)
    with UnitOfWork(system.db) as uow:
        deferrals.request_deferral(uow, head, task.id, "顾客仍然关机", until)  # pending
    with UnitOfWork(system.db) as uow:
        [evidence_id] = evidence.store_uploads(uow, system.settings, system.actor(USERS[AGENT]),
                                               [evidence.Upload("photo.txt", "外包装破损".encode())], cid)
    with UnitOfWork(system.db) as uow:
        spare_token = api_tokens.create_token(uow, SYSTEM, USERS[AGENT], "spare")[0]
    for modeller in (OWNER, ADMIN):
        _undeployable_draft(system, system.actor(USERS[modeller]))
    with UnitOfWork(system.db, write=False) as uow:
        complaint = uow.session.get(Complaint, cid)
        reference, round_, lock_version = complaint.reference, complaint.round, complaint.lock_version
        version = uow.session.scalar(select(ProcessVersion.id).where(ProcessVersion.is_current.is_(True)))
        timer = uow.session.scalars(select(Timer.id).where(Timer.complaint_id == cid,
                                                           Timer.status == "waiting")).first()
    return Objects(
        complaint=cid, task=task.id, stale_version=lock_version - 1, evidence=evidence_id,
        decided_deferral=decided, version=version, spare_token=spare_token,
        link=surveys.link_token(app.secret_key, cid, reference),
        forged_link=surveys.link_token("not-the-app-secret", cid, reference),
        offer=surveys.offer_token(app.secret_key, cid, round_),
        timer=timer, mail_incident=_dismissed_mail(system),
    )


def _dismissed_mail(system) -> int:
    """A mailbox message whose one allowed attempt failed (set aside), then dismissed by an administrator."""
    settings, key = replace(system.settings, mail_max_attempts=1), "<matrix@customer.example.cn>"
    raw = b"From: wang@customer.example.cn\r\nSubject: matrix\r\n\r\nbody"
    assert mail_attempts.begin(system.db, settings, key, "wang@customer.example.cn", "matrix", raw) == "run"
    assert mail_attempts.failed(system.db, settings, key, raw, RuntimeError("matrix"))
    with UnitOfWork(system.db) as uow:
        incident = uow.session.scalar(select(MailAttempt.id).where(MailAttempt.message_id == key))
        mail_incidents.dismiss(uow, system.actor(USERS[ADMIN]), incident)
    return incident


def _undeployable_draft(system, modeller) -> None:
    """The modeller's draft of the process without its test cases (valid, refused by deploy), plus a spare
    file for the delete-file route."""
    with UnitOfWork(system.db) as uow:
        files = model_drafts.open_draft(uow, modeller, PROCESS).files
    for path in files:
        if path.startswith("tests/"):
            with UnitOfWork(system.db) as uow:
                model_drafts.delete_file(uow, modeller, PROCESS, path)
    with UnitOfWork(system.db) as uow:
        model_drafts.save_files(uow, modeller, PROCESS, {SPARE_DRAFT_FILE: EMPTY_FORM})


def _complaint_state(system, complaint_id: int) -> tuple[int, int]:
    """The complaint's lock_version and its number of audit events."""
    with UnitOfWork(system.db, write=False) as uow:
        lock_version = uow.session.get(Complaint, complaint_id).lock_version
        events = uow.session.query(AuditEvent).filter_by(complaint_id=complaint_id).count()
    return lock_version, events


def _database_state(system) -> tuple[dict[str, tuple[int, str]], list[str]]:
    """Every row of every table (as digests), and the files in the evidence folder."""
    rows = fingerprint(system.db.engine)
    folder = evidence.evidence_folder(system.settings)
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []
    return rows, files
