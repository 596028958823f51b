"""Turning engine data into what pages show: titles in the page language, the readable timeline,
the complaint's data with its form labels, local times."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Flask, g
from markupsafe import Markup, escape
from sqlalchemy import select

from engine import clock
from engine.complaints import desk
from engine.complaints.casework import INTAKE, ComplaintView
from engine.models import Evidence, User
from forms.render import ShownValue, describe_values, enum_labels, merged, task_title, value_text
from forms.schema import FormDefinition
from web import labels
from web.context import reading
from web.i18n import gettext, lang, tz, words
from web.row_links import RowLink, site_url

#: How an evidence file is named in form data (`engine.complaints.evidence.Upload.id`).
_EVIDENCE_ID = re.compile(r"[0-9a-f]{32}")
#: Event data fields whose values are engine codes with names of their own.
_CODED = {"role": labels.ROLES, "channel": labels.CONTACT_CHANNELS,
          "withdrawal_reason": labels.WITHDRAWAL_REASONS}
#: Event data fields that name people by login name (shown by display name, `person`).
_PEOPLE = {"person", "previous", "on_behalf_of"}


def local_time(moment: datetime | str | None) -> str:
    """A stored (UTC) time in the display time zone, or an empty text."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment)
        except ValueError:
            return moment
    return _stamp(moment)


def _stamp(moment: datetime) -> str:
    """`moment` (naive: UTC) in the display time zone as yyyy-MM-dd HH:mm: what Babel's `format_datetime` gives
    for that pattern in either language (it has only digits), at a tenth of its cost, once or twice per row of a
    list (docs/PERFORMANCE.md, "1,000,000 complaints")."""
    local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(tz())
    return f"{local.year:04d}-{local.month:02d}-{local.day:02d} {local.hour:02d}:{local.minute:02d}"


@dataclass(frozen=True)
class DueText:
    """A deadline as pages show it: the absolute time ("今天 14:30 前") and the time left or overdue
    ("剩余 12 分钟"), both on the program's clock."""

    absolute: str
    countdown: str
    overdue: bool
    soon: bool


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, hours = minutes // 1440, (minutes % 1440) // 60
    parts = [gettext("%(n)s d", n=days)] if days else []
    if hours:
        parts.append(gettext("%(n)s h", n=hours))
    if not days:
        parts.append(gettext("%(n)s min", n=minutes % 60))
    return " ".join(parts)


def due_text(moment: datetime) -> DueText:
    """How a deadline reads now: by which day and time, and how long is left (or how long it is overdue)."""
    now, zone = clock.now(), tz()
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    clock_time = local.strftime("%H:%M")
    if local.date() == today:
        absolute = gettext("by today %(time)s", time=clock_time)
    elif local.date() == today + timedelta(days=1):
        absolute = gettext("by tomorrow %(time)s", time=clock_time)
    else:
        absolute = gettext("by %(date)s", date=_stamp(moment))
    left = moment - now
    countdown = gettext("%(time)s left", time=_span(left)) if left >= timedelta(0) else \
        gettext("overdue by %(time)s", time=_span(-left))
    return DueText(absolute, countdown, left < timedelta(0), timedelta(0) <= left < timedelta(hours=2))


#: Accounts that are not people: what deployed or did something on its own.
_NOT_PEOPLE = {"startup", "system", "customer"}


def nav_count(n: int) -> str:
    """A navigation count: the navigation stops counting at `desk.NAV_LIMIT` and shows "99+" from there."""
    return f"{desk.NAV_LIMIT - 1}+" if n >= desk.NAV_LIMIT else str(n)


def person(username: str | None) -> str:
    """How a person is shown: their display name, never the login name (nor a program's account name)."""
    if not username:
        return ""
    if username in _NOT_PEOPLE:
        return labels.label(labels.ACTORS, username)
    known = g.get("_known_names")
    if known is not None and username in known:
        return known[username] or username
    names = g.get("_display_names")
    if names is None:
        with reading() as uow:
            names = dict(uow.session.execute(select(User.username, User.display_name)).all())
        g._display_names = names
    return names.get(username) or username


def know_names(names: Mapping[str, str]) -> None:
    """Display names (username → name) a page's view has read already: `person` finds them without reading
    every user's name."""
    g._known_names = {**g.get("_known_names", {}), **names}


def person_by_id(user_id) -> str:
    """A person named by user id (older events), by display name."""
    with reading() as uow:
        user = uow.session.get(User, user_id) if isinstance(user_id, int) else None
    return user.display_name if user is not None else str(user_id)


def with_file_names(data: Mapping) -> dict:
    """`data` with every evidence id (a file field's value) replaced by the file's own name: an id means
    nothing to a reader. Values that only look like ids stay as they are."""
    found = {item for value in data.values() for item in (value if isinstance(value, list) else [value])
             if isinstance(item, str) and _EVIDENCE_ID.fullmatch(item)}
    if not found:
        return dict(data)
    with reading() as uow:
        names = dict(uow.session.execute(
            select(Evidence.id, Evidence.original_name).where(Evidence.id.in_(found))).all())

    def named(value):
        if isinstance(value, list):
            return [names.get(item, item) if isinstance(item, str) else item for item in value]
        return names.get(value, value) if isinstance(value, str) else value
    return {key: named(value) for key, value in data.items()}


@dataclass(frozen=True)
class ShownAnswer:
    """One completed task of a round as the side panel shows it."""

    title: str
    actor: str
    at: str
    values: list[ShownValue]


@dataclass(frozen=True)
class ShownRound:
    """One round on a task form: its label, whether it is the current one, its answers and the survey's."""

    label: str
    current: bool
    answers: list[ShownAnswer]
    survey: list[tuple[str, str]]


def _answer(version_tasks, forms: dict[str, FormDefinition], answer) -> ShownAnswer:
    meta = version_tasks(answer.task)
    name = task_title(meta.title, meta.title_en, lang()) if meta is not None else answer.task
    values = describe_values(forms.get(answer.task), with_file_names(answer.data), lang(), words(), tz())
    return ShownAnswer(name, person(answer.actor), local_time(answer.at), values)


def rounds_shown(history, forms: dict[str, FormDefinition], version_tasks) -> list[ShownRound]:
    """The rounds of `engine.complaints.rounds.History` for a task form: this round first, then the earlier
    ones (the template folds them), each with the customer's survey answer of that round."""
    shown = []
    for item in history.rounds:
        if item.number is None:
            label = gettext("Before the first round")
        elif item.number == history.current:
            label = gettext("Round %(n)s (this round)", n=item.number)
        else:
            label = gettext("Round %(n)s", n=item.number)
        survey = []
        if item.survey is not None:
            survey = [(gettext("Satisfied?"), words().yes if item.survey.satisfied else words().no)]
            if item.survey.rating is not None:
                survey.append((gettext("Rating (1–5)"), str(item.survey.rating)))
            if item.survey.comment:
                survey.append((gettext("Comment"), item.survey.comment))
        shown.append(ShownRound(label, item.number == history.current,
                                [_answer(version_tasks, forms, a) for a in reversed(item.answers)], survey))
    return shown


def since_shown(history, forms: dict[str, FormDefinition], version_tasks) -> list[ShownAnswer]:
    """What was answered after the previous visit of this task in the same round (a sent-back proposal: the
    approver's decision and instruction), for the top of the form."""
    return [_answer(version_tasks, forms, a) for a in history.since] if history is not None else []


def title(item) -> str:
    """A task's title (task row, list item, or a task as plain data) in the page language."""
    if isinstance(item, Mapping):
        return task_title(item["title"], item.get("title_en"), lang())
    return task_title(item.title, item.title_en, lang())


#: A Chinese character (or full-width punctuation) in a model's text.
_CHINESE = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def model_text(text: str | None) -> Markup:
    """A model's own words shown as data (a decision table's name, columns and notes, a task's name) in the page
    language: one half of a bilingual text (`task_title`). Text written in the other language only stays as the
    model has it, marked with its language (`lang`)."""
    shown = task_title(text or "", None, lang())
    chinese = bool(_CHINESE.search(shown))
    if lang() == "en" and chinese:
        return Markup('<span lang="zh-CN">%s</span>') % shown
    if lang() != "en" and not chinese and re.search(r"[A-Za-z]{2}", shown):
        return Markup('<span lang="en">%s</span>') % shown
    return escape(shown)


def element_name(titles: Mapping[str, tuple[str, str | None]], element_id: str | None) -> str:
    """A model element (a user task, an end event: a complaint's outcome) as its model version names it, in the
    page language; its id when the model gives it no name (docs/MODELLING.md, "Names")."""
    if not element_id:
        return ""
    names = titles.get(element_id)
    return task_title(names[0], names[1], lang()) if names else element_id


def enum_label(form: FormDefinition | None, field: str, value) -> str:
    """The model's label of a coded value (level, category, channel…) in the page language."""
    if value is None:
        return ""
    prop = form.properties.get(field, {}) if form is not None else {}
    # A list asks this once a row: the labels of a property are made once per request (the entry holds the
    # property, so its id is not reused while the request lasts).
    made = g.setdefault("_enum_labels", {})
    entry = made.get((id(prop), lang()))
    if entry is None or entry[0] is not prop:
        entry = made[(id(prop), lang())] = (prop, enum_labels(prop, lang()))
    return entry[1].get(str(value), str(value))


def complaint_data(forms: dict[str, FormDefinition], variables: dict) -> list[ShownValue]:
    """The complaint's data entered so far, labelled by the forms that ask for it (intake first);
    the engine's own bookkeeping variables are not shown."""
    ordered = [forms[INTAKE]] if INTAKE in forms else []
    ordered += [form for name, form in forms.items() if name != INTAKE]
    every = merged(ordered)
    known = with_file_names({k: v for k, v in variables.items() if k in every.properties})
    return describe_values(every, known, lang(), words(), tz())


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str
    who: str | None
    text: str
    values: list[ShownValue]


def timeline(view: ComplaintView) -> list[TimelineEntry]:
    """The complaint's audit events as sentences, newest last, with the data entered at each."""
    entries = []
    # Some events (deferral decisions) name the task by id only: its other events give the name.
    task_names = {e.task_id: e.task_name for e in view.events if e.task_id and e.task_name}
    for event in view.events:
        task = ""
        task_name = event.task_name or task_names.get(event.task_id)
        if task_name:
            task = element_name(view.titles, task_name)
        sentence = labels.EVENTS.get(event.kind)
        text = str(sentence) % {"task": task} if sentence is not None else gettext(
            "Event %(kind)s %(task)s", kind=event.kind, task=task)
        who = None if event.actor_id is None else view.names.get(event.actor_name, event.actor_name)
        values = _event_values(view, event.kind, event.task_name, event.data or {})
        entries.append(TimelineEntry(at=event.at, kind=event.kind, who=who, text=text, values=values))
    return entries


def _event_values(view: ComplaintView, kind: str, task_name: str | None, data: dict) -> list[ShownValue]:
    if kind == "complaint_started":
        return describe_values(view.forms.get(INTAKE), _without_evidence(view, data), lang(), words(), tz())
    if kind == "task_completed" and task_name in view.forms:
        return describe_values(view.forms[task_name], with_file_names(data), lang(), words(), tz())
    shown = []
    for name, value in data.items():
        if value in (None, "", []) or name == "evidence_id":
            continue
        if name == "outcome":
            text = element_name(view.titles, value)
        elif name == "department":
            text = ", ".join(labels.department(str(v)) for v in _listed(value))
        elif name in _CODED:
            text = ", ".join(labels.label(_CODED[name], str(v)) for v in _listed(value))
        elif name == "to":  # a role (escalation) or the people told (special case)
            text = ", ".join(labels.label(labels.ROLES, v) if v in labels.ROLES else person(v) for v in _listed(value))
        elif name in _PEOPLE:
            text = ", ".join(person(v) for v in _listed(value))
        elif name == "person_id":
            text = person_by_id(value)
        elif name in ("category", "suggested", "level"):
            text = enum_label(view.forms.get(INTAKE), name, value)
        elif name == "kind" and kind == "evidence_added":
            text = str(value).upper()
        elif name == "kind" and kind == "penalty_decided":
            text = labels.label(labels.PENALTY_KINDS, str(value))
        elif name == "action":
            text = labels.label(labels.DEPUTY_ACTIONS, str(value))
        elif name == "flag":
            text = labels.label(labels.CUSTOMER_FLAGS, str(value))
        elif name == "size" and isinstance(value, int):
            text = f"{value / 1024:.1f} KB"
        elif name == "amount":
            text = gettext("%(amount)s yuan", amount=value_text({}, value, lang(), words(), tz()))
        elif name in ("contacted_at", "due_at", "deadline", "until"):
            text = local_time(value)
        else:
            text = value_text({}, value, lang(), words(), tz())
        shown.append(ShownValue(name=name, label=labels.label(labels.EVENT_FIELDS, name), text=text))
    return shown


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _without_evidence(view: ComplaintView, data: dict) -> dict:
    # Evidence ids mean nothing to a reader: show the files' names instead.
    names = {e.id: e.original_name for e in view.evidence}
    return {k: ([names.get(i, i) for i in v] if k == "evidence" and isinstance(v, list) else v)
            for k, v in data.items()}


def init_app(app: Flask) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(nav_count, "nav_count")
    app.add_template_global(due_text, "due_text")
    app.add_template_global(lambda: clock.now().isoformat(), "server_now")
    app.add_template_global(title, "task_title")
    app.add_template_global(element_name, "element_name")
    app.add_template_global(model_text, "model_text")
    app.add_template_global(enum_label, "enum_label")
    app.add_template_global(labels.label, "label")
    app.add_template_global(person, "person")
    app.add_template_global(labels, "labels")
    app.add_template_global(labels.department, "department_name")
    app.add_template_global(lambda: lang(), "lang")
    app.add_template_global(RowLink, "row_link")
    app.add_template_global(site_url, "site_url")
