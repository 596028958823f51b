"""Notification texts in the reader's language: an outbox row's `kind` and `params` → subject and body.

Used for the notifications page and handed to the timer worker for e-mail (`engine.complaints.notifications.Renderer`).
It reads the compiled catalogues directly (no request or app needed: the worker thread has neither).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo
from functools import cache, partial
from pathlib import Path
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.support import NullTranslations, Translations

from engine.config import Settings
from forms.render import task_title

TRANSLATIONS = Path(__file__).parent / "translations"
_DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?")


def N_(text: str) -> str:
    """Mark a text for the catalogue; it is translated later, in the reader's language."""
    return text


#: The answer to a repeat submission (engine.complaints.self_service): it was added to the open complaint.
REPEAT = N_("We have added your new message to your open complaint %(reference)s; no second complaint was opened. "
            "Follow its progress here:\n%(link)s")
#: Subject and body of each kind of notification.
MESSAGES = {
    "assigned": (N_("[%(reference)s] New task: %(task)s"),
                 N_("Complaint %(reference)s (%(customer)s) has a new task for you: %(task)s.")),
    "warning": (N_("[%(reference)s] Deadline near: %(task)s"),
                N_("The task %(task)s of complaint %(reference)s is due at %(due)s. Please finish it in time.")),
    "breach": (N_("[%(reference)s] Deadline missed: %(task)s"),
               N_("The task %(task)s of complaint %(reference)s missed its deadline (%(deadline)s). "
                  "Penalty: ¥%(amount)s.")),
    "deferral_requested": (N_("[%(reference)s] Deferral request: %(task)s"),
                           N_("%(requester)s asks to move the deadline of %(task)s to %(until)s. "
                              "Reason: %(reason)s")),
    "deferral_approved": (N_("[%(reference)s] Deferral approved: %(task)s"),
                          N_("The general manager approved moving the deadline of %(task)s to %(until)s. "
                             "%(note)s")),
    "deferral_rejected": (N_("[%(reference)s] Deferral rejected: %(task)s"),
                          N_("The general manager rejected moving the deadline of %(task)s; it stays. %(note)s")),
    "special_case": (N_("[%(reference)s] Reported at once: %(level)s"),
                     N_("Complaint %(reference)s (%(customer)s) was recorded as a %(level)s. Special cases are "
                        "reported to the general manager and the customer-service manager at once.")),
    "complaint_repeat": (N_("Your complaint %(reference)s"), REPEAT),
    "follow_up_needed": (N_("[%(reference)s] To follow: recorded by %(recorder)s"),
                         N_("%(recorder)s recorded complaint %(reference)s (%(customer)s). It waits in the agents' "
                            "queue: please take it up and follow it.")),
    "report_submitted": (N_("%(report)s %(period)s submitted for your review"),
                         N_("The agent team submitted the %(report)s of %(period)s. Please review and sign it on the "
                            "reports page; it then goes to every department head.")),
    "report_sent": (N_("%(report)s %(period)s from the general manager"),
                    N_("The general manager reviewed and signed the %(report)s of %(period)s. Comments: %(comment)s "
                       "Please read it on the reports page and acknowledge it.")),
    "responsible_named": (N_("[%(reference)s] You were named the responsible person"),
                          N_("The department head named you the person directly responsible for complaint "
                             "%(reference)s (%(customer)s). Cause found: %(cause)s")),
    "penalty_decided": (N_("[%(reference)s] Deduction decided: %(amount)s yuan"),
                        N_("A deduction of %(amount)s yuan from your performance pay was decided at %(task)s of "
                           "complaint %(reference)s. Reason: %(reason)s")),
    "customer_wrote": (N_("[%(reference)s] The customer wrote again"),
                       N_("%(customer)s sent a new message about complaint %(reference)s; it is among its contacts.")),
    "mail_rate_limited": (N_("Your e-mail was not recorded as a complaint"),
                          N_("We received your e-mail, but this address has already opened %(limit)s complaints "
                             "within the past hour, the most one address may open by e-mail, so it was not recorded "
                             "as a new complaint. To add to one of your complaints, reply to the e-mail we sent "
                             "about it; for a new complaint, write again in an hour or use the form on our "
                             "website.")),
    "customer_link": (N_("Your complaint %(reference)s"),
                      N_("Dear %(customer)s, we have recorded your complaint as %(reference)s. Follow its progress "
                         "here (valid for %(days)s days):\n%(link)s")),
}
ESCALATED = N_("It has been escalated to: %(role)s.")
#: The automatic reply's second paragraph: the level's first-response limit and what happens next.
NEXT_STEPS = N_("An agent will check your complaint and contact you within %(limit)s. The responsible department "
                "then works out a solution with you, and we ask afterwards whether it worked. To add something, "
                "reply to this e-mail and keep %(reference)s in the subject.")
#: The roles a task can be escalated to (same texts as the role names in `web.labels`).
ROLE_NAMES = {"cs_manager": N_("Customer-service manager"), "general_manager": N_("General manager")}
TIMES = ("due", "deadline", "until")
#: The levels the policy reports at once (`report_at_once` in workflows/policy.dmn), as the trade names them.
LEVEL_NAMES = {"major": N_("major complaint"), "crisis": N_("crisis event")}
#: The analysis reports, as the report page names them.
REPORT_NAMES = {"week": N_("Weekly report"), "month": N_("Monthly report"), "year": N_("Yearly report")}
#: Params worded from a code the notification carries: param → (the param holding the code, the code's names).
NAMED = {"report": ("kind", REPORT_NAMES), "level": ("level", LEVEL_NAMES)}


def iso_duration(text: object) -> timedelta | None:
    """An ISO 8601 duration of the policy table ("PT30M", "P7D", "PT12H") as a timedelta; None if not one."""
    match = _DURATION.fullmatch(text) if isinstance(text, str) else None
    if match is None or not any(match.groups()):
        return None
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes)


@cache
def _catalogue(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [locale])


def render(kind: str, params: dict, locale: str, zone: tzinfo) -> tuple[str, str]:
    """Subject and body of a notification in `locale`, times shown in `zone`."""
    catalogue = _catalogue(locale)
    values = dict(params)
    if params.get("task"):  # model titles are often bilingual ("中文 English"): one language only
        values["task"] = task_title(params["task"], params.get("task_en"), locale)
    for name in TIMES:
        if values.get(name):
            values[name] = format_datetime(datetime.fromisoformat(values[name]), "yyyy-MM-dd HH:mm",
                                           tzinfo=zone, locale=locale)
    for param, (source, names) in NAMED.items():
        if source in params:
            values[param] = catalogue.gettext(names.get(params[source], params[source] or ""))
    subject, body = MESSAGES[kind]
    text = catalogue.gettext(body) % values
    role = ROLE_NAMES.get(params.get("escalated_to")) if kind == "breach" else None
    if role:
        text += " " + catalogue.gettext(ESCALATED) % {"role": catalogue.gettext(role)}
    limit = iso_duration(params.get("first_response")) if kind == "customer_link" else None
    if limit is not None:
        text += "\n\n" + catalogue.gettext(NEXT_STEPS) % {
            "limit": format_timedelta(limit, threshold=2, locale=locale), "reference": params.get("reference")}
    return catalogue.gettext(subject) % values, text.strip()


def renderer(settings: Settings):
    """The `engine.complaints.notifications.Renderer` for these settings (times in the staff's time zone)."""
    return partial(render, zone=ZoneInfo(settings.display_timezone))
