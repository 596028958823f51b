"""Database tables, as typed SQLAlchemy models.

Workflow state lives in `Complaint.state` (compacted, spec stored once per `ProcessVersion`);
everything people search, list and report on is in plain indexed columns so that no query
ever has to deserialize a workflow.

One module per part of the engine: `base`, `people`, `workflow`, `modelling`, `complaints`, `work`,
`messages`, `reports`, `throttle`, `audit`, `working_calendar`. Every model is imported here: `from
engine.models import X` works for all of them, and importing the package maps every table.
"""
from __future__ import annotations

from engine.models.audit import AuditEvent
from engine.models.base import Base, UTCDateTime
from engine.models.complaints import (
    Classification,
    Comment,
    Complaint,
    Contact,
    Customer,
    Draft,
    Evidence,
    IdempotencyRecord,
    Remedy,
    Survey,
)
from engine.models.messages import MailAttempt, MailMessage, Notification
from engine.models.modelling import ModelDraft, ModelDraftFile
from engine.models.people import ApiToken, Department, Deputy, User
from engine.models.reports import OrderVolume, ReportAcknowledgement, ReportReview
from engine.models.throttle import RateLimit
from engine.models.work import Deferral, Penalty, Timer, WorkTask
from engine.models.workflow import ModelDeployment, ModelFile, ProcessVersion
from engine.models.working_calendar import CalendarDay, DepartmentHours

__all__ = ["ApiToken", "AuditEvent", "Base", "CalendarDay", "Classification", "Comment", "Complaint",
           "Contact", "Customer", "Deferral", "Department", "DepartmentHours", "Deputy", "Draft", "Evidence",
           "IdempotencyRecord", "MailAttempt", "MailMessage", "ModelDeployment", "ModelDraft", "ModelDraftFile",
           "ModelFile", "Notification", "OrderVolume", "Penalty", "ProcessVersion", "RateLimit", "Remedy",
           "ReportAcknowledgement", "ReportReview", "Survey", "Timer", "UTCDateTime", "User", "WorkTask"]
