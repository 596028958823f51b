"""The API's request and response shapes (marshmallow), which the OpenAPI document is built from:
`requests` (queries and bodies), `complaints` (complaints, tasks, deferrals), `reports`, `process_models`,
`problems` (refusals)."""
from __future__ import annotations

from web.api.schemas.complaints import (
    Breach,
    ComplaintDetail,
    ComplaintPage,
    ComplaintSummary,
    CreatedComplaint,
    DeferralCreated,
    DeferralDoc,
    FormDoc,
    IntakeForm,
    OpenTask,
    StepResult,
    TaskComplaint,
    TaskDetail,
    TaskItem,
    TaskPage,
    TimelineEvent,
)
from web.api.schemas.problems import (
    FieldErrorDoc,
    ProblemResponse,
)
from web.api.schemas.process_models import (
    CaseDoc,
    CheckDoc,
    DeployedDoc,
    ProblemDoc,
    VersionDoc,
)
from web.api.schemas.reports import (
    Figure,
    PenaltyRowDoc,
    PeriodDoc,
    RepeatDoc,
    ReportDoc,
    ResponseTimesDoc,
)
from web.api.schemas.requests import (
    INTAKE_BODY,
    MAX_TEXT,
    ComplaintQuery,
    CompleteBody,
    DecisionBody,
    DeferralBody,
    DeferralQuery,
    ProcessQuery,
    ReportQuery,
    TaskQuery,
    WithdrawBody,
)

__all__ = ["Breach", "CaseDoc", "CheckDoc", "ComplaintDetail", "ComplaintPage", "ComplaintQuery",
           "ComplaintSummary", "CompleteBody", "CreatedComplaint", "DecisionBody", "DeferralBody",
           "DeferralCreated", "DeferralDoc", "DeferralQuery", "DeployedDoc", "FieldErrorDoc", "Figure",
           "FormDoc", "INTAKE_BODY", "IntakeForm", "MAX_TEXT", "OpenTask", "PenaltyRowDoc", "PeriodDoc",
           "ProblemDoc", "ProblemResponse", "ProcessQuery", "RepeatDoc", "ReportDoc", "ReportQuery",
           "ResponseTimesDoc", "StepResult", "TaskComplaint", "TaskDetail", "TaskItem", "TaskPage",
           "TaskQuery", "TimelineEvent", "VersionDoc", "WithdrawBody"]
