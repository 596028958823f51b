"""Refusals in the reader's language: the code and params of a `forms.errors.FieldError` or an
`engine.errors.ServiceError` → a sentence from the zh/en catalogues.

This is the only place that words the codes. Pages and flash messages render in the page language
(`web.i18n`), the API in the request's (`Accept-Language`, English by default), the CLI in English.
It reads the compiled catalogues itself when there is no request (the CLI), like `web.mail`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from babel.support import NullTranslations, Translations

from engine.errors import Code, ModelCode, ServiceError
from forms.errors import FieldError, FieldErrors, FormCode
from web.failure_messages import CASE_TEXTS, REFUSALS, RUN_TEXTS, STEP_TEXTS, reason_text
from web.mail import N_, TRANSLATIONS
from web.model_messages import FEATURES, HINTS, JSON_TYPES, MODEL_TEXTS, WHAT

log = logging.getLogger(__name__)

#: A function that translates one msgid (`flask_babel.gettext`, or a catalogue's `gettext`).
Gettext = Callable[[str], str]

#: The sentence of each code; `%(name)s` are its params.
TEXTS: dict[str, str] = {
    # forms/validate.py
    FormCode.FORM_NOT_OBJECT: N_("The form could not be read."),
    FormCode.NAME_NOT_ALLOWED: N_("The field name %(key)s is not allowed."),
    FormCode.NESTED_TOO_DEEPLY: N_("The value is nested too deeply."),
    FormCode.REQUIRED: N_("This field is required."),
    FormCode.NOT_IN_FORM: N_("This field is not part of the form."),
    FormCode.ONE_VALUE_ONLY: N_("Give only one value."),
    FormCode.TOO_LONG: N_("At most %(max)s characters."),
    FormCode.TOO_SHORT: N_("At least %(min)s characters."),
    FormCode.NUL_CHARACTER: N_("The text contains a NUL character."),
    FormCode.WRONG_TYPE: N_("This value has the wrong type."),
    FormCode.NOT_AN_OPTION: N_("Choose one of the offered values."),
    FormCode.BELOW_MINIMUM: N_("Must be at least %(minimum)s."),
    FormCode.ABOVE_MAXIMUM: N_("Must be at most %(maximum)s."),
    FormCode.NOT_A_DATE_TIME: N_("Enter a date and time."),
    FormCode.NOT_A_DATE: N_("Enter a date."),
    FormCode.BAD_FORMAT: N_("Not a valid value (expected format: %(format)s)."),
    FormCode.PATTERN_MISMATCH: N_("Not in the expected format."),
    FormCode.TOO_MANY_ITEMS: N_("At most %(max)s items."),
    FormCode.TOO_FEW_ITEMS: N_("At least %(min)s items."),
    FormCode.NOT_YES_NO: N_("Choose yes or no."),
    FormCode.NOT_WHOLE_NUMBER: N_("Enter a whole number."),
    FormCode.NOT_A_NUMBER: N_("Enter a number."),
    FormCode.NOT_ACCEPTED: N_("This value is not accepted (rule: %(rule)s)."),
    # engine/: not found
    Code.COMPLAINT_NOT_FOUND: N_("Complaint %(complaint)s does not exist."),
    Code.TASK_NOT_FOUND: N_("Task %(task)s does not exist."),
    Code.VERSION_NOT_FOUND: N_("Process version %(version)s does not exist."),
    Code.NO_DEPLOYED_VERSION: N_("No version of %(process)s is deployed."),
    Code.VERSION_HAS_NO_BPMN: N_("The model version has no BPMN file."),
    Code.NO_DRAFT: N_("You have no draft of %(process)s."),
    Code.DRAFT_FILE_NOT_FOUND: N_("The draft has no file %(path)s."),
    Code.DRAFT_TASK_NOT_FOUND: N_("The draft has no user task %(task)s."),
    Code.USER_NOT_FOUND: N_("There is no user %(user)s."),
    Code.DEPARTMENT_NOT_FOUND: N_("There is no department %(department)s."),
    Code.NO_ACTIVE_USER: N_("There is no active user %(user)s."),
    Code.TOKEN_NOT_FOUND: N_("Token %(token)s does not exist."),
    Code.TIMER_NOT_FOUND: N_("Timer %(timer)s does not exist."),
    Code.MAIL_INCIDENT_NOT_FOUND: N_("Mail incident %(incident)s does not exist."),
    Code.DEFERRAL_NOT_FOUND: N_("Deferral request %(deferral)s does not exist."),
    Code.EVIDENCE_NOT_FOUND: N_("There is no such evidence file."),
    Code.PAGE_NOT_FOUND: N_("There is no such page."),
    Code.SURVEY_NOT_FOUND: N_("There is no such survey."),
    Code.CUSTOMER_NOT_FOUND: N_("Customer %(customer)s does not exist."),
    Code.REMEDY_NOT_FOUND: N_("Remedy %(remedy)s does not exist on this complaint."),
    Code.APPOINTMENT_NOT_FOUND: N_("Deputy appointment %(appointment)s does not exist."),
    Code.NOTIFICATION_NOT_FOUND: N_("Notification %(notification)s does not exist."),
    Code.CALENDAR_DAY_NOT_FOUND: N_("%(day)s is not in the working calendar."),
    # engine/: forbidden
    Code.CANNOT_RECORD: N_("The role %(role)s cannot record complaints."),
    Code.CANNOT_ADD_TO: N_("The role %(role)s cannot add to complaints."),
    Code.OTHER_DEPARTMENT: N_("This complaint belongs to another department."),
    Code.NO_COMPLAINTS_FOR_ROLE: N_("Your role (%(role)s) works on the process models and does not see "
                                    "customers' complaints."),
    Code.TASK_FOR_ROLE: N_("This task is for the role %(role)s."),
    Code.TASK_FOR_DEPARTMENT: N_("This task is for the role %(role)s of the department %(department)s."),
    Code.DEFER_NOT_HOLDER: N_("Only who holds the task can ask to defer it."),
    Code.DECIDE_NOT_ALLOWED: N_("Only the general manager decides deferral requests."),
    Code.MODELS_NOT_ALLOWED: N_("Only process owners and administrators manage process models."),
    Code.DEPLOY_NOT_ALLOWED: N_("Only process owners deploy models."),
    Code.MIGRATE_NOT_ALLOWED: N_("Only process owners and administrators move complaints to another version."),
    Code.RETRY_NOT_ALLOWED: N_("Only administrators retry failed timers."),
    Code.INCIDENTS_NOT_ALLOWED: N_("Only administrators and process owners handle failed timers."),
    Code.NO_REPORTS_FOR_ROLE: N_("The role %(role)s does not receive reports."),
    Code.OWN_DEPARTMENT_REPORT: N_("Department heads see their own department's report only."),
    Code.OWN_TOKENS_ONLY: N_("You can see and create API tokens only for yourself."),
    Code.CANNOT_MERGE_CUSTOMERS: N_("The role %(role)s cannot merge customer records."),
    Code.REPORT_STEP_FOR_ROLE: N_("The role %(role)s does not take this step of the report."),
    Code.WITHDRAW_NOT_ALLOWED: N_("The role %(role)s does not record withdrawals: an agent does."),
    Code.ASSIGN_NOT_ALLOWED: N_("Only the CS manager, the general manager and department heads (within their "
                                "department) assign tasks."),
    Code.APPOINT_NOT_ALLOWED: N_("Only department heads appoint deputies."),
    Code.ADMIN_ONLY: N_("Only administrators manage users."),
    Code.MAIL_NOT_ALLOWED: N_("Only administrators see the mail the mailbox could not file."),
    # engine/: conflict
    Code.TASK_NOT_OPEN: N_("This task is no longer open."),
    Code.TASK_ALREADY: N_("This task was already %(status)s."),
    Code.TASK_HELD_BY_OTHER: N_("This task is held by someone else."),
    Code.COMPLAINT_CHANGED: N_("The complaint changed since the form was opened."),
    Code.USER_EXISTS: N_("The user %(user)s already exists."),
    Code.DEFERRAL_PENDING: N_("A deferral request for this task is already waiting for a decision."),
    Code.DEFERRAL_ALREADY: N_("This request was already %(status)s."),
    Code.TIMER_NOT_INCIDENT: N_("The timer is not a failed one (%(status)s)."),
    Code.MAIL_NOT_INCIDENT: N_("The message is not set aside any more (%(status)s)."),
    Code.SURVEY_ANSWERED: N_("This survey was already answered."),
    Code.COMPLAINT_CLOSED: N_("The complaint is already closed."),
    Code.NO_WITHDRAWAL_IN_MODEL: N_("The process model of this complaint has no withdrawal."),
    Code.NO_SUGGESTION: N_("No category was suggested for this complaint."),
    Code.MERGE_SAME_CUSTOMER: N_("A customer record cannot be merged into itself."),
    Code.REPORT_STATE: N_("Not possible now: the report's state is %(state)s."),
    Code.DEACTIVATE_SELF: N_("You cannot deactivate your own account."),
    Code.MIGRATION_REFUSED: N_("The complaint cannot move to this version."),
    Code.MIGRATE_CLOSED: N_("The complaint is closed."),
    Code.MIGRATE_SAME_VERSION: N_("The complaint already runs on this version."),
    Code.MIGRATE_OTHER_PROCESS: N_("Version %(version)s is a version of another process (%(process)s)."),
    Code.MIGRATE_OPEN_TASK_REMOVED: N_("The open task %(task)s (%(state)s) is not in the new version."),
    Code.MIGRATE_PASSED_TASK_REMOVED: N_("The task %(task)s, already passed (%(state)s), is not in the new version."),
    Code.MIGRATE_OPEN_TASK_CHANGED: N_("The open task %(task)s changed in the new version (%(changes)s)."),
    Code.MIGRATE_FORM_CHANGED: N_("The form of the open task %(task)s changed in the new version."),
    Code.MIGRATE_SUBPROCESS: N_("The complaint runs a subprocess; moving subprocesses is not supported."),
    Code.MIGRATE_CANNOT_CARRY: N_("The task %(task)s cannot be carried over."),
    Code.MIGRATE_HARMLESS_CHANGE: N_("The open task %(task)s: only its name, documentation or connections "
                                     "changed."),
    # engine/: invalid input
    Code.INVALID_INPUT: N_("Some fields were not accepted."),
    Code.ONE_OF: N_("One of: %(options)s."),
    Code.USERNAME_FORMAT: N_("Use letters, digits, '.' and '_' (at most %(max)s)."),
    Code.DEPARTMENT_NEEDED: N_("Department heads need a department (one of: %(options)s)."),
    Code.DEPARTMENT_INACTIVE: N_("The department %(department)s is deactivated: choose an active one."),
    Code.DEPARTMENT_CODE_FORMAT: N_("Use lower-case letters, digits and '_', starting with a letter (at most "
                                    "%(max)s)."),
    Code.DEPARTMENT_EXISTS: N_("The department %(department)s already exists."),
    Code.DEPARTMENT_HAS_OPEN_TASKS: N_("%(department)s still has %(count)s open tasks: finish or hand them over "
                                       "first."),
    Code.DEPARTMENT_HAS_HEADS: N_("%(department)s still has active department heads (%(heads)s): move or "
                                  "deactivate them first."),
    Code.DEPARTMENT_ROUTED: N_("The current model of %(process)s routes complaints to %(department)s (%(file)s): "
                               "deploy a model that no longer does first."),
    Code.NEEDS_TIME_ZONE: N_("Enter a date and time with a time zone."),
    Code.TIME_IN_FUTURE: N_("The time lies in the future."),
    Code.RECEIVED_TOO_LONG_AGO: N_("The time of receipt lies more than %(days)s days back."),
    Code.CHOOSE_BETWEEN: N_("Choose %(min)s to %(max)s."),
    Code.DAY_OUT_OF_RANGE: N_("Give a day of the years %(first)s to %(last)s."),
    Code.DEFER_REASON_REQUIRED: N_("Say why the customer cannot be reached."),
    Code.DEFER_RANGE: N_("Must be in the future and within %(days)s days."),
    Code.NO_RUNNING_DEADLINE: N_("This task has no running deadline."),
    Code.ASSIGNEE_CANNOT_WORK: N_("%(user)s cannot work this task (another role or department)."),
    Code.DEPUTY_SELF: N_("Choose a colleague, not yourself."),
    Code.PERIOD_ORDER: N_("The end must be after the start and in the future."),
    Code.PERIOD_TOO_LONG: N_("An appointment lasts at most %(days)s days."),
    Code.NO_PACKAGE_YEAR: N_("The holiday package has no schedule for %(year)s: enter its days one by one."),
    Code.HOURS_ORDER: N_("The working day must end after it starts."),
    Code.WRONG_PASSWORD: N_("The current password is wrong."),
    Code.LATER_THAN_DEADLINE: N_("Must be later than the current deadline."),
    Code.DRAFT_NOT_TEXT: N_("A draft holds lists of text."),
    Code.FILE_EMPTY: N_("%(file)s: the file is empty."),
    Code.FILE_TOO_LARGE: N_("%(file)s: the file is larger than %(max)s."),
    Code.FILE_TYPE_NOT_ACCEPTED: N_("%(file)s: this type of file is not accepted (allowed: pictures, PDF, audio, "
                                    "video, text)."),
    Code.UPLOAD_GONE: N_("An uploaded file is no longer available; please add it again."),
    Code.NOT_A_CATEGORY: N_("Choose one of the categories of the complaint form."),
    Code.CHOOSE_AGAIN: N_("Files are not kept when the form is shown again: please choose them again."),
    Code.NOT_BY_A_PERSON: N_("The form was not accepted. Please fill it in again."),
    Code.PENDING_UPLOADS_FULL: N_("Your files waiting for a new complaint already take %(max)s: record the "
                                  "complaint, or wait a day until they are cleared."),
    Code.IDEMPOTENCY_KEY_FORMAT: N_("Give 1 to %(max)s printable characters."),
    Code.IDEMPOTENCY_KEY_REUSED: N_("This key was already used for a different request."),
    Code.NO_FILES: N_("Upload at least one file."),
    Code.NO_MODEL_FILES: N_("There is no .bpmn, .dmn or .json file in the upload."),
    Code.UNSAFE_FILE_NAME: N_("Not a safe relative file name."),
    Code.NOT_A_ZIP: N_("Not a readable zip file."),
    Code.CANNOT_UNPACK: N_("This file cannot be unpacked."),
    Code.TOO_MANY_FILES: N_("At most %(max)s files."),
    Code.UNPACKED_TOO_LARGE: N_("Larger than %(max)s when unpacked."),
    Code.MODEL_FILE_TOO_LARGE: N_("Larger than %(max)s."),
    Code.DUPLICATE_FILE: N_("This file was given twice."),
    Code.NOT_UTF8: N_("Not UTF-8 text."),
    Code.BAD_MODEL_PATH: N_("Use a relative path ending in .bpmn, .dmn or .json."),
    Code.MODEL_PROBLEM: N_("The model cannot run here."),  # said with its place and code (`problem_line`)
    Code.NO_EXECUTABLE_PROCESS: N_("There is no .bpmn file with an executable process in the upload."),
    Code.BAD_PROCESS_ID: N_("Process id %(process)s: use letters, digits, '_', '-', '.'."),
    Code.NOT_JSON: N_("The input is not JSON (line %(line)s)."),
    Code.FILES_AS_MULTIPART: N_("Send the files as multipart/form-data, field files."),
    Code.API_TOKEN_NEEDED: N_("Give a valid API token: Authorization: Bearer <token>."),
    Code.READ_ONLY_TOKEN: N_("This token may only read: use a token that is not read-only."),
    Code.NO_SUCH_RESOURCE: N_("There is no such API resource."),
    Code.USE_METHODS: N_("Use %(methods)s."),
    Code.BODY_TOO_LARGE: N_("The body is larger than %(max)s."),
    Code.SEND_JSON: N_("Send the body as %(media_type)s."),
    Code.SERVER_FAILED: N_("The server failed to do this; please try again later."),
    Code.MODEL_NOT_DEPLOYABLE: N_("The model cannot be deployed (%(problems)s problems)."),
    Code.MODEL_TESTS_FAILED: N_("%(failed)s of the model's own test cases fail; nothing was deployed."),
    Code.DATABASE_UNAVAILABLE: N_("The database cannot be reached right now; nothing was changed. Try again."),
    # engine/workflow/failures.py: a model that failed while it ran, and why
    **STEP_TEXTS,
    **RUN_TEXTS,
    **CASE_TEXTS,
    # engine/workflow: why a model is refused (engine.errors.ModelCode)
    **MODEL_TEXTS,
}
#: Said of a code this module does not know (an engine newer than its catalogue): never an English sentence.
UNKNOWN = N_("This was not accepted (%(code)s).")

#: Params that hold an engine code, and the names of those codes (the same texts as `web.labels`).
WORDS: dict[str, dict[str, str]] = {
    "role": {"agent": N_("Agent"), "department_head": N_("Department head"),
             "cs_manager": N_("Customer-service manager"), "general_manager": N_("General manager"),
             "process_owner": N_("Process owner"), "admin": N_("Administrator")},
    "status": {"completed": N_("completed"), "cancelled": N_("cancelled"), "approved": N_("approved"),
               "rejected": N_("rejected"), "pending": N_("waiting for a decision"), "waiting": N_("waiting"),
               "fired": N_("fired"), "retrying": N_("queued again"), "dismissed": N_("dismissed")},
    # SpiffWorkflow's task states, as a migration refusal names them
    "state": {"READY": N_("ready"), "WAITING": N_("waiting"), "STARTED": N_("started"),
              "COMPLETED": N_("completed"), "CANCELLED": N_("cancelled"), "ERROR": N_("failed"),
              "LIKELY": N_("likely next"), "MAYBE": N_("possible"), "FUTURE": N_("not reached yet")},
    "what": WHAT,
    "feature": FEATURES,
}
#: What changed in a task between two versions (SpiffWorkflow's task spec attributes), as people say it.
CHANGES = {"lane": N_("lane"), "extensions": N_("properties"), "script": N_("script"), "prescript": N_("script"),
           "postscript": N_("script"), "event_definition": N_("event"), "cond_task_specs": N_("conditions"),
           "default_task_spec": N_("default path"), "condition": N_("condition"), "manual": N_("manual"),
           "data_input_associations": N_("data inputs"), "data_output_associations": N_("data outputs"),
           "io_specification": N_("data inputs"), "loop_characteristics": N_("repetition"),
           "spec": N_("subprocess")}
#: Params that are a number of bytes (shown as "10 MB").
SIZES = frozenset({"max"})
SIZED_CODES = frozenset({Code.PENDING_UPLOADS_FULL, Code.BODY_TOO_LARGE, Code.FILE_TOO_LARGE,
                         Code.UNPACKED_TOO_LARGE, Code.MODEL_FILE_TOO_LARGE})


def size(n: int) -> str:
    """A number of bytes as people read it."""
    return f"{n / 1024 / 1024:.0f} MB" if n >= 1024 * 1024 else f"{n} B"


def render(code: str, params: Mapping[str, Any], gettext: Gettext) -> str:
    """The sentence of `code` with its `params`, translated by `gettext`."""
    if code == Code.MODEL_PROBLEM and "code" in params:
        return problem_line(params, gettext)
    if code == ModelCode.EXPRESSION_REFUSED:  # said, never the sandbox's words (they stay the technical detail)
        refusal = REFUSALS.get(params.get("construct", ""), RUN_TEXTS[Code.RUN_NOT_ALLOWED])
        params = {**params, "detail": _fill(refusal, code, params, gettext)}
    text = TEXTS.get(code)
    if text is None:
        log.warning("no text for the error code %r", code)
        return gettext(UNKNOWN) % {"code": code}
    return _fill(text, code, params, gettext)


def problem_texts(problem: Mapping[str, Any], gettext: Gettext) -> dict[str, Any]:
    """A model problem (`ModelProblem.as_dict()`) with its `message` and `hint` (None without one) worded, and
    `detail`: a library's own words (None without), never in the sentence, shown apart as a technical note."""
    code, params = problem["code"], problem.get("params") or {}
    hint = HINTS.get(code)
    return {**problem, "message": render(code, params, gettext),
            "hint": _fill(hint, code, params, gettext) if hint else None, "detail": params.get("detail") or None}


def problem_line(problem: Mapping[str, Any], gettext: Gettext, *, detail: bool = False) -> str:
    """A model problem on one line, its place first: `file:line [element]: message Hint: hint`; with `detail`
    (the command line) the library's own words follow the message in brackets."""
    worded = problem_texts(problem, gettext)
    where = str(problem.get("file") or "") + (f":{problem['line']}" if problem.get("line") else "")
    where += f" [{problem['element_id']}]" if problem.get("element_id") else ""
    said = worded["message"] + (f" ({worded['detail']})" if detail and worded["detail"] else "")
    hint = f" {gettext(N_('Hint:'))} {worded['hint']}" if worded["hint"] else ""
    return f"{where}: {said}{hint}"


def _fill(text: str, code: str, params: Mapping[str, Any], gettext: Gettext) -> str:
    values = {}
    for name, value in params.items():
        if name == "reason" and code in STEP_TEXTS:
            value = reason_text(params, gettext, lambda text, reason, values: _fill(text, reason, values, gettext))
        elif name in WORDS and value in WORDS[name]:
            value = gettext(WORDS[name][value])
        elif name == "department" and isinstance(value, str):  # named by the departments table
            from web import labels  # imports Flask: only a page names a department (the CLI prints its code)

            value = labels.department(value, chinese=_is_chinese(gettext))
        elif name == "changes" and isinstance(value, str):
            value = ", ".join(dict.fromkeys(gettext(CHANGES[c]) if c in CHANGES else c for c in value.split(", ")))
        elif name == "errors" and isinstance(value, list):  # a form's refusals, nested in a test case's failure
            value = "; ".join(render(e["code"], e.get("params") or {}, gettext) for e in value)
        elif name == "expected" and code == ModelCode.FORM_SCHEMA_WRONG_TYPE and isinstance(value, str):
            value = ", ".join(gettext(JSON_TYPES[t]) if t in JSON_TYPES else t for t in value.split(", "))
        elif name in SIZES and code in SIZED_CODES and isinstance(value, int):
            value = size(value)
        values[name] = value
    try:
        return gettext(text) % values
    except KeyError as err:  # a raising site that forgot a param: still a sentence, never a 500
        log.warning("error code %r lacks the param %s", code, err)
        return gettext(text) % _Lenient(values)


def _is_chinese(gettext: Gettext) -> bool:
    """Whether `gettext` is the Chinese catalogue's (there are two: the Chinese one names "Department")."""
    return gettext(N_("Department")) != "Department"


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def field_texts(errors: FieldErrors, gettext: Gettext) -> dict[str, list[str]]:
    """Field errors as sentences, by field."""
    return {name: [_field_text(e, gettext) for e in found] for name, found in errors.items()}


def _field_text(refusal: FieldError | str, gettext: Gettext) -> str:
    if isinstance(refusal, str):  # a raising site not yet on codes: said in a general sentence, not lost
        log.warning("a field error as text, not as a code: %r", refusal)
        return gettext(UNKNOWN) % {"code": refusal}
    return render(refusal.code, refusal.params, gettext)


def error_text(err: ServiceError, gettext: Gettext) -> str:
    """The sentence of a service error as a whole."""
    return render(err.code, err.params, gettext)


@cache
def catalogue(locale: str) -> NullTranslations:
    """The compiled catalogue of `locale`, read without an app or request (the CLI, the API's detail)."""
    return Translations.load(str(TRANSLATIONS), [locale])


def in_locale(locale: str) -> Gettext:
    """`gettext` of one language."""
    return catalogue(locale).gettext


def as_dicts(errors: FieldErrors) -> dict[str, list[dict]]:
    """Field errors as JSON: `{field: [{"code": ..., "params": {...}}]}`."""
    return {name: [e.as_dict() if isinstance(e, FieldError) else {"code": str(e), "params": {}} for e in found]
            for name, found in errors.items()}

