"""Errors the service layer raises; entry points map them to HTTP statuses or exit codes.

Every error is a code and the values its sentence needs (`params`), never English text: whoever shows it
turns it into a sentence in the reader's language through the catalogues (`web/messages.py`; see
docs/ARCHITECTURE.md, "Errors"). Field errors are `forms.errors.FieldError` values, with a `FormCode` when
the form validator refused them and a `Code` when the engine did.
"""
from __future__ import annotations

from enum import StrEnum
from typing import Any

from forms.errors import FieldError, FieldErrors


class Code(StrEnum):
    """What the engine refuses, and why. Parameters named in the comment; `role`, `department` and
    `status` hold the engine's codes (their names are translated where shown)."""

    # -- not found
    COMPLAINT_NOT_FOUND = "complaint_not_found"  # complaint (id)
    TASK_NOT_FOUND = "task_not_found"  # task (id)
    VERSION_NOT_FOUND = "version_not_found"  # version (id)
    NO_DEPLOYED_VERSION = "no_deployed_version"  # process
    VERSION_HAS_NO_BPMN = "version_has_no_bpmn"
    NO_DRAFT = "no_draft"  # process
    DRAFT_FILE_NOT_FOUND = "draft_file_not_found"  # path
    DRAFT_TASK_NOT_FOUND = "draft_task_not_found"  # task
    USER_NOT_FOUND = "user_not_found"  # user
    DEPARTMENT_NOT_FOUND = "department_not_found"  # department
    NO_ACTIVE_USER = "no_active_user"  # user
    TOKEN_NOT_FOUND = "token_not_found"  # token (id)  # noqa: S105 (a code, not a secret)
    TIMER_NOT_FOUND = "timer_not_found"  # timer (id)
    DEFERRAL_NOT_FOUND = "deferral_not_found"  # deferral (id)
    EVIDENCE_NOT_FOUND = "evidence_not_found"
    PAGE_NOT_FOUND = "page_not_found"
    SURVEY_NOT_FOUND = "survey_not_found"
    CUSTOMER_NOT_FOUND = "customer_not_found"  # customer (id)
    REMEDY_NOT_FOUND = "remedy_not_found"  # remedy (id)
    APPOINTMENT_NOT_FOUND = "appointment_not_found"  # appointment (id)
    NOTIFICATION_NOT_FOUND = "notification_not_found"  # notification (id)
    CALENDAR_DAY_NOT_FOUND = "calendar_day_not_found"  # day (ISO date)
    MAIL_INCIDENT_NOT_FOUND = "mail_incident_not_found"  # incident (id)
    # -- forbidden
    CANNOT_RECORD = "cannot_record"  # role
    CANNOT_ADD_TO = "cannot_add_to"  # role
    OTHER_DEPARTMENT = "other_department"
    NO_COMPLAINTS_FOR_ROLE = "no_complaints_for_role"  # role
    TASK_FOR_ROLE = "task_for_role"  # role
    TASK_FOR_DEPARTMENT = "task_for_department"  # role, department
    DEFER_NOT_HOLDER = "defer_not_holder"
    DECIDE_NOT_ALLOWED = "decide_not_allowed"
    MODELS_NOT_ALLOWED = "models_not_allowed"
    DEPLOY_NOT_ALLOWED = "deploy_not_allowed"
    MIGRATE_NOT_ALLOWED = "migrate_not_allowed"
    RETRY_NOT_ALLOWED = "retry_not_allowed"
    INCIDENTS_NOT_ALLOWED = "incidents_not_allowed"
    NO_REPORTS_FOR_ROLE = "no_reports_for_role"  # role
    OWN_DEPARTMENT_REPORT = "own_department_report"
    OWN_TOKENS_ONLY = "own_tokens_only"
    CANNOT_MERGE_CUSTOMERS = "cannot_merge_customers"  # role
    REPORT_STEP_FOR_ROLE = "report_step_for_role"  # role
    WITHDRAW_NOT_ALLOWED = "withdraw_not_allowed"  # role
    ASSIGN_NOT_ALLOWED = "assign_not_allowed"
    APPOINT_NOT_ALLOWED = "appoint_not_allowed"
    ADMIN_ONLY = "admin_only"
    MAIL_NOT_ALLOWED = "mail_not_allowed"
    # -- conflict
    TASK_NOT_OPEN = "task_not_open"
    TASK_ALREADY = "task_already"  # status (completed, cancelled)
    TASK_HELD_BY_OTHER = "task_held_by_other"
    COMPLAINT_CHANGED = "complaint_changed"
    USER_EXISTS = "user_exists"  # user
    DEFERRAL_PENDING = "deferral_pending"
    DEFERRAL_ALREADY = "deferral_already"  # status (approved, rejected)
    TIMER_NOT_INCIDENT = "timer_not_incident"  # status
    MAIL_NOT_INCIDENT = "mail_not_incident"  # status (retrying, dismissed)
    SURVEY_ANSWERED = "survey_answered"
    COMPLAINT_CLOSED = "complaint_closed"
    NO_WITHDRAWAL_IN_MODEL = "no_withdrawal_in_model"
    NO_SUGGESTION = "no_suggestion"
    MERGE_SAME_CUSTOMER = "merge_same_customer"
    REPORT_STATE = "report_state"  # state (none, submitted, sent)
    DEACTIVATE_SELF = "deactivate_self"
    MIGRATION_REFUSED = "migration_refused"  # reasons (the MIGRATE_* refusals, as {code, params})
    # -- why one complaint cannot move to another model version (`engine.modelling.migration`); `state` is
    #    SpiffWorkflow's task state name, `changes` the changed attributes of a task's spec
    MIGRATE_CLOSED = "migrate_closed"
    MIGRATE_SAME_VERSION = "migrate_same_version"
    MIGRATE_OTHER_PROCESS = "migrate_other_process"  # version, process
    MIGRATE_OPEN_TASK_REMOVED = "migrate_open_task_removed"  # task, state
    MIGRATE_PASSED_TASK_REMOVED = "migrate_passed_task_removed"  # task, state
    MIGRATE_OPEN_TASK_CHANGED = "migrate_open_task_changed"  # task, changes
    MIGRATE_FORM_CHANGED = "migrate_form_changed"  # task
    MIGRATE_SUBPROCESS = "migrate_subprocess"
    MIGRATE_CANNOT_CARRY = "migrate_cannot_carry"  # task
    MIGRATE_HARMLESS_CHANGE = "migrate_harmless_change"  # task (a note, not a refusal)
    # -- invalid input (the error as a whole; its fields carry their own codes)
    INVALID_INPUT = "invalid_input"
    # -- field errors the engine adds to the form validator's (`forms.errors.FormCode`)
    ONE_OF = "one_of"  # options (the accepted codes, comma-separated)
    USERNAME_FORMAT = "username_format"  # max
    DEPARTMENT_NEEDED = "department_needed"  # options
    DEPARTMENT_INACTIVE = "department_inactive"  # department
    DEPARTMENT_CODE_FORMAT = "department_code_format"  # max
    DEPARTMENT_EXISTS = "department_exists"  # department
    DEPARTMENT_HAS_OPEN_TASKS = "department_has_open_tasks"  # department, count
    DEPARTMENT_HAS_HEADS = "department_has_heads"  # department, heads
    DEPARTMENT_ROUTED = "department_routed"  # department, process, file
    NEEDS_TIME_ZONE = "needs_time_zone"
    TIME_IN_FUTURE = "time_in_future"
    RECEIVED_TOO_LONG_AGO = "received_too_long_ago"  # days
    CHOOSE_BETWEEN = "choose_between"  # min, max
    DAY_OUT_OF_RANGE = "day_out_of_range"  # first, last (years)
    DEFER_REASON_REQUIRED = "defer_reason_required"
    DEFER_RANGE = "defer_range"  # days
    NO_RUNNING_DEADLINE = "no_running_deadline"
    ASSIGNEE_CANNOT_WORK = "assignee_cannot_work"  # user
    DEPUTY_SELF = "deputy_self"
    PERIOD_ORDER = "period_order"
    PERIOD_TOO_LONG = "period_too_long"  # days
    NO_PACKAGE_YEAR = "no_package_year"  # year (the holiday package has no schedule for it)
    HOURS_ORDER = "hours_order"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 (a code, not a secret)
    LATER_THAN_DEADLINE = "later_than_deadline"
    DRAFT_NOT_TEXT = "draft_not_text"
    FILE_EMPTY = "file_empty"  # file
    FILE_TOO_LARGE = "file_too_large"  # file, max (bytes)
    FILE_TYPE_NOT_ACCEPTED = "file_type_not_accepted"  # file
    UPLOAD_GONE = "upload_gone"  # file (the upload's id)
    PENDING_UPLOADS_FULL = "pending_uploads_full"  # max (bytes)
    NOT_A_CATEGORY = "not_a_category"
    CHOOSE_AGAIN = "choose_again"  # the public form's files are not kept when it is shown again
    NOT_BY_A_PERSON = "not_by_a_person"  # the public form's hidden field was filled (a robot)
    IDEMPOTENCY_KEY_FORMAT = "idempotency_key_format"  # max
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    NO_FILES = "no_files"
    NO_MODEL_FILES = "no_model_files"
    UNSAFE_FILE_NAME = "unsafe_file_name"
    NOT_A_ZIP = "not_a_zip"
    CANNOT_UNPACK = "cannot_unpack"
    TOO_MANY_FILES = "too_many_files"  # max
    UNPACKED_TOO_LARGE = "unpacked_too_large"  # max (bytes)
    MODEL_FILE_TOO_LARGE = "model_file_too_large"  # max (bytes)
    DUPLICATE_FILE = "duplicate_file"
    NOT_UTF8 = "not_utf8"
    BAD_MODEL_PATH = "bad_model_path"
    MODEL_PROBLEM = "model_problem"  # file, line, element_id, code, params (a `ModelProblem`, worded by its code)
    NO_EXECUTABLE_PROCESS = "no_executable_process"
    BAD_PROCESS_ID = "bad_process_id"  # process
    NOT_JSON = "not_json"  # line
    FILES_AS_MULTIPART = "files_as_multipart"
    # -- a request the API could not read or answer (`web/api`); its problem document carries the code
    API_TOKEN_NEEDED = "api_token_needed"  # noqa: S105 (a code, not a secret)
    READ_ONLY_TOKEN = "read_only_token"  # noqa: S105 (a code, not a secret)
    NO_SUCH_RESOURCE = "no_such_resource"
    USE_METHODS = "use_methods"  # methods (comma-separated)
    BODY_TOO_LARGE = "body_too_large"  # max (bytes)
    SEND_JSON = "send_json"  # media_type
    SERVER_FAILED = "server_failed"
    MODEL_NOT_DEPLOYABLE = "model_not_deployable"  # problems (how many; each one in the document's `problems`)
    MODEL_TESTS_FAILED = "model_tests_failed"  # failed (how many cases)
    # -- why one of a model's own test cases failed (`engine.modelling.cases`); `step` counts from 1 (0: the start)
    CASE_NOT_RUN_LOOPS = "case_not_run_loops"  # element
    CASE_START_FAILED = "case_start_failed"  # element, reason, its params, detail (as STEP_FAILED_AT)
    CASE_MODEL_FAILED = "case_model_failed"  # step, element, reason, its params, detail
    CASE_ERROR = "case_error"  # kind, detail (the case asks for something impossible, e.g. a bad duration)
    CASE_TASK_NOT_OPEN = "case_task_not_open"  # step, task, open
    CASE_NO_MESSAGE_WAITER = "case_no_message_waiter"  # step, message
    CASE_STEP_UNKNOWN = "case_step_unknown"  # step
    CASE_START_FIELD = "case_start_field"  # field, errors (the form's refusals, as {code, params})
    CASE_STEP_FIELD = "case_step_field"  # step, task, field, errors
    CASE_END = "case_end"  # expected, reached, open
    CASE_OPEN = "case_open"  # expected, found
    CASE_VARIABLE = "case_variable"  # name, expected, got
    CASE_PATH = "case_path"  # element, path
    DATABASE_UNAVAILABLE = "database_unavailable"
    # -- the model failed while it ran (a script, expression or decision; `engine.workflow.failures`): said as
    #    the element and a `reason` (one of the codes below) with that reason's params, beside `detail`, the
    #    library's or Python's own words (technical, shown only as such)
    MODEL_FAILED = "model_failed"
    STEP_FAILED = "step_failed"  # reason, its params, detail
    STEP_FAILED_AT = "step_failed_at"  # element, reason, its params, detail
    # -- reasons of a run-time failure; `expression` (its source) or `line` (of a script) say where, if known
    RUN_LOOPED = "run_looped"  # steps, seconds, max_steps, max_cpu, max_seconds
    RUN_UNTYPED_TASK = "run_untyped_task"
    RUN_NO_PATH = "run_no_path"  # (a gateway whose conditions are all false and which has no default flow)
    RUN_UNDEFINED_NAME = "run_undefined_name"  # name
    RUN_UNDEFINED_FUNCTION = "run_undefined_function"  # function
    RUN_MISSING_KEY = "run_missing_key"  # key
    RUN_INDEX_OUT_OF_RANGE = "run_index_out_of_range"
    RUN_DIVISION_BY_ZERO = "run_division_by_zero"
    RUN_WRONG_TYPE = "run_wrong_type"  # kind (TypeError)
    RUN_BAD_VALUE = "run_bad_value"  # kind (ValueError)
    RUN_SYNTAX = "run_syntax"  # line, column
    RUN_NOT_ALLOWED = "run_not_allowed"  # (a construct the sandbox refuses; `detail` names it)
    RUN_LIMIT = "run_limit"  # limit (lines, time, size, depth, cpu, memory, crash)
    RUN_DATA_NOT_STORABLE = "run_data_not_storable"  # variable (task data that is not plain JSON data)
    RUN_DATA_NOT_SENDABLE = "run_data_not_sendable"  # (task data or a result that cannot cross to a worker)
    RUN_NAMES_HIDDEN = "run_names_hidden"  # names (task data variables hiding the script's own names)
    RUN_SANDBOX_UNAVAILABLE = "run_sandbox_unavailable"  # (a sandbox worker could not start or answer)
    RUN_ENGINE_ERROR = "run_engine_error"  # kind (the exception's type: SpiffWorkflow's or Python's)
    # -- values the model's own functions (`engine.workflow.functions`) refuse, raised as `BadModelValue`
    RUN_DURATION_NOT_FIXED = "run_duration_not_fixed"  # duration (years or months)
    RUN_RATIO_RANGE = "run_ratio_range"  # ratio
    RUN_WORKING_TIME_TOO_FAR = "run_working_time_too_far"  # duration, start
    RUN_UNKNOWN_BASIS = "run_unknown_basis"  # basis, bases
    # -- a timer whose firing failed for a reason other than the model (`engine.complaints.stored_failures`)
    TIMER_FAILED = "timer_failed"  # kind (the exception's type), detail
    TIMER_CRASHED = "timer_crashed"  # n, max: the attempt never finished (the worker was killed or crashed)
    MAIL_FAILED = "mail_failed"  # kind (the exception's type), detail: filing a message failed
    MAIL_CRASHED = "mail_crashed"  # n, max: filing the message never finished (the worker was killed or crashed)


class BadModelValue(ValueError):
    """A value that model code gave one of the model's functions cannot be used: a `ValueError` (what callers
    catch), with the reason code and params the sandbox reports instead of its English message."""

    def __init__(self, message: str, code: str, /, **params: Any):
        super().__init__(message)
        self.code = code
        self.params = params


class ServiceError(Exception):
    """Base of the errors a use case reports to its caller: `code` and the `params` its sentence needs."""

    def __init__(self, code: str, /, **params: Any):
        self.code = code
        self.params = params
        super().__init__(str(FieldError(code, params)))


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Forbidden(ServiceError):
    """The caller's role or department does not allow this action."""


class Conflict(ServiceError):
    """Stale, duplicate or concurrent submission: nothing was changed."""


class InvalidInput(ServiceError):
    """Input failed validation. `errors` maps each field to its errors."""

    def __init__(self, errors: FieldErrors, code: str = Code.INVALID_INPUT, /,
                 **params: Any) -> None:
        super().__init__(code, **params)
        self.errors = errors
        self.args = (f"{code}: " + "; ".join(f"{k}: {', '.join(map(str, v))}" for k, v in errors.items()),)

    @classmethod
    def field(cls, name: str, code: str, /, **params: Any) -> InvalidInput:
        """One error of one field."""
        return cls({name: [FieldError(code, params)]})


class ModelCode(StrEnum):
    """Why the validator refuses a BPMN/DMN bundle (`engine.workflow.model_xml.ModelProblem`, which also names
    the file, line and element). Parameters named in the comment; `detail` is a library's own words (an XML,
    JSON, SpiffWorkflow or sandbox message), `what` the kind of expression or script (a key worded where shown)."""

    # -- the file as XML (engine.workflow.model_xml)
    FILE_OVER_LIMIT = "file_over_limit"  # size, max (bytes)
    DOCTYPE_NOT_ALLOWED = "doctype_not_allowed"
    NOT_XML = "not_xml"
    MALFORMED_XML = "malformed_xml"  # line, column, detail (any error libxml2 reports that has no code below)
    XML_TAG_MISMATCH = "xml_tag_mismatch"  # open, open_line, close
    XML_NOT_CLOSED = "xml_not_closed"  # tag, open_line
    XML_EXTRA_CONTENT = "xml_extra_content"
    XML_ATTRIBUTE_NOT_QUOTED = "xml_attribute_not_quoted"
    XML_UNESCAPED = "xml_unescaped"  # char (< or &)
    XML_UNDEFINED_ENTITY = "xml_undefined_entity"  # entity
    XML_UNDEFINED_PREFIX = "xml_undefined_prefix"  # prefix, tag
    XML_DUPLICATE_ATTRIBUTE = "xml_duplicate_attribute"  # attribute
    XML_NOT_UTF8 = "xml_not_utf8"
    XML_EMPTY = "xml_empty"
    XML_INVALID_CHAR = "xml_invalid_char"  # line, column
    XML_ATTRIBUTE_NO_VALUE = "xml_attribute_no_value"
    XML_TAG_NOT_FINISHED = "xml_tag_not_finished"  # line, column
    XML_COMMENT = "xml_comment"
    XML_CDATA = "xml_cdata"
    XML_DECLARATION_NOT_FIRST = "xml_declaration_not_first"
    XML_BAD_NAME = "xml_bad_name"  # line, column
    MARKUP_INSTRUCTION = "markup_instruction"  # target
    MARKUP_ELEMENT = "markup_element"  # kind (XHTML, SVG …), tag
    MARKUP_ATTRIBUTE = "markup_attribute"  # attribute, value
    # -- the bundle (engine.workflow.deploy, engine.modelling.deployment)
    NO_BPMN_FILE = "no_bpmn_file"
    PROCESS_NOT_IN_BUNDLE = "process_not_in_bundle"  # process, processes
    NO_PROCESS = "no_process"
    SEVERAL_PROCESSES = "several_processes"  # count, processes, main
    NO_TEST_CASES = "no_test_cases"
    TEST_CASES_UNREADABLE = "test_cases_unreadable"  # line, column, detail (not JSON)
    TEST_CASES_NO_LIST = "test_cases_no_list"
    # -- form files (engine.workflow.model_forms)
    FORM_INVALID_JSON = "form_invalid_json"  # line, column, detail
    FORM_FILE_NOT_OBJECT = "form_file_not_object"
    FORM_SCHEMA_INVALID = "form_schema_invalid"  # keyword, rule (the metaschema's keyword), detail
    FORM_SCHEMA_WRONG_TYPE = "form_schema_wrong_type"  # keyword, expected (JSON types, comma-separated), detail
    FORM_SCHEMA_BELOW_MINIMUM = "form_schema_below_minimum"  # keyword, minimum, detail
    FORM_SCHEMA_REPEATED = "form_schema_repeated"  # keyword, detail
    FORM_SCHEMA_UNKNOWN_VALUE = "form_schema_unknown_value"  # keyword, value, detail
    FORM_SCHEMA_NOT_OBJECT = "form_schema_not_object"
    FORM_PATTERN_PROPERTIES = "form_pattern_properties"
    FORM_PATTERN_UNSUPPORTED = "form_pattern_unsupported"  # pattern, detail (RE2's words)
    FORM_FILE_MISSING = "form_file_missing"  # form
    FORM_SCHEMA_SUFFIX = "form_schema_suffix"
    # -- classification rules (engine.workflow.classification_rules)
    RULES_INVALID_JSON = "rules_invalid_json"  # line, column, detail
    RULES_NOT_OBJECT = "rules_not_object"
    RULES_NOT_LIST = "rules_not_list"  # list
    RULES_ENTRY_NEEDS_KEY = "rules_entry_needs_key"  # entry, key
    RULES_ENTRY_NEEDS_WORDS = "rules_entry_needs_words"  # entry, value
    RULES_VALUE_NOT_OFFERED = "rules_value_not_offered"  # entry, key, value, options
    # -- what SpiffWorkflow's parser refuses or trips on (engine.workflow.parser_problems)
    SPIFF_REFUSED = "spiff_refused"  # tag (the element's kind, may be empty), detail
    SPIFF_MULTIPLE_OUTGOING = "spiff_multiple_outgoing"  # tag, detail
    SPIFF_SCHEMA = "spiff_schema"  # line, detail
    SPIFF_NO_START_EVENT = "spiff_no_start_event"  # process
    SPIFF_TASK_TYPE = "spiff_task_type"  # tag
    SPIFF_FLOW_NO_CONDITION = "spiff_flow_no_condition"
    SPIFF_DUPLICATE_PROCESS = "spiff_duplicate_process"  # process
    SPIFF_CONDITION_MISSING = "spiff_condition_missing"
    SPIFF_TIMER_INVALID = "spiff_timer_invalid"  # detail
    MISSING_REFERENCE = "missing_reference"  # name
    MISSING_ELEMENT = "missing_element"
    UNREADABLE_ELEMENT = "unreadable_element"
    # -- expressions, scripts and references (engine.workflow.model_checks)
    EXPRESSION_EMPTY = "expression_empty"  # what
    EXPRESSION_FEEL = "expression_feel"  # what, source
    EXPRESSION_REFUSED = "expression_refused"  # what, detail
    EXPRESSION_SYNTAX = "expression_syntax"  # what, line, column (in the expression or script), detail
    UNKNOWN_FUNCTION = "unknown_function"  # what, function, functions
    FLOW_END_MISSING = "flow_end_missing"  # end (sourceRef, targetRef), target
    FEEL_CONDITION = "feel_condition"
    BOUNDARY_ACTIVITY_MISSING = "boundary_activity_missing"  # activity
    NO_DECISION_NAMED = "no_decision_named"
    DECISION_NOT_IN_BUNDLE = "decision_not_in_bundle"  # decision, decisions
    LANE_NOT_A_ROLE = "lane_not_a_role"  # lane, roles
    NOT_IN_A_LANE = "not_in_a_lane"  # roles
    UNTIMED_NEEDS_REASON = "untimed_needs_reason"
    NO_TIME_LIMIT = "no_time_limit"
    # -- departments the model routes to (engine.modelling.department_routes)
    ROUTES_TO_UNKNOWN_DEPARTMENT = "routes_to_unknown_department"  # department, departments
    ROUTES_TO_INACTIVE_DEPARTMENT = "routes_to_inactive_department"  # department
    # -- what this engine cannot run (engine.workflow.support)
    ELEMENT_NOT_RUN = "element_not_run"  # kind
    UNTYPED_TASK = "untyped_task"  # kind
    SERVICE_TASK = "service_task"  # kind
    COMPLEX_GATEWAY = "complex_gateway"  # kind
    AD_HOC_SUBPROCESS = "ad_hoc_subprocess"  # kind
    FOREIGN_EXTENSION = "foreign_extension"  # prefix, name
    FOREIGN_ATTRIBUTE = "foreign_attribute"  # prefix, name
    FOREIGN_FEATURE = "foreign_feature"  # feature (the Camunda/Zeebe element or attribute)
    SCRIPT_FORMAT = "script_format"  # format
    SCRIPT_IGNORED = "script_ignored"  # script (preScript, postScript), kind
    TIME_CYCLE = "time_cycle"
    JUEL_EXPRESSION = "juel_expression"  # source
    TIMER_NOT_QUOTED = "timer_not_quoted"  # source
    DEAD_END = "dead_end"  # kind, name
    PROCESS_NOT_EXECUTABLE = "process_not_executable"  # process
    MESSAGE_NEVER_SENT = "message_never_sent"  # message, known
    MESSAGE_UNNAMED = "message_unnamed"  # known
    SIGNAL_NEVER_SENT = "signal_never_sent"  # signal
    CALLED_PROCESS_MISSING = "called_process_missing"  # process, processes
    CALL_NAMES_NO_PROCESS = "call_names_no_process"  # processes
    CALLED_NOT_EXECUTABLE = "called_not_executable"  # process, file, line
    CALL_CYCLE = "call_cycle"  # chain
    DMN_VERSION = "dmn_version"  # namespace
    DMN_NO_DECISION = "dmn_no_decision"
    DMN_EXTRA_DECISION = "dmn_extra_decision"
    DECISION_LITERAL = "decision_literal"
    DECISION_NO_TABLE = "decision_no_table"
    HIT_POLICY_AGGREGATION = "hit_policy_aggregation"  # policy, aggregation
    DMN_INPUT_NO_EXPRESSION = "dmn_input_no_expression"  # input
    DMN_FEEL_ENTRY = "dmn_feel_entry"  # entry, python (the Python to write instead)
    FEEL_LITERAL = "feel_literal"  # literal, python
