"""Fuzzed HTML form submissions: every form that writes gets hostile posts built from a valid one with at
least one thing broken. Each must be refused with errors beside the fields (or a designed 400/413), show
back what was typed, and store nothing; the valid post must still go through.

Designed answers: the forms show themselves again with status 422 (the schema forms — intake, task forms,
drafts — and the Flask-WTF forms of the complaint and task pages alike); a task form without its version is a 400, the
deferral decision (buttons, no form to show again) a 400 or 422, and a multipart text part over Flask's
MAX_FORM_MEMORY_SIZE a 413.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache, cached_property
from urllib.parse import quote_from_bytes

import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import select
from werkzeug.test import EnvironBuilder

from engine import clock
from engine.complaints import casework, deferrals, intake, timers
from engine.complaints import form_drafts as drafts
from engine.db import UnitOfWork
from engine.models import WorkTask
from forms.render import Words, describe_form
from forms.schema import FormDefinition
from forms.validate import MAX_STRING, MAX_TEXT
from tests.conftest import examples
from tests.fingerprint import fingerprint as database_fingerprint
from tests.lifecycle import ANSWERS, INTAKE, WORKER, open_task, start, step
from tests.web.conftest import make_app, text_of

#: Posted names that belong to the page, not to a model's form (`web.schema_forms.CONTROL_FIELDS`).
CONTROL = ("csrf_token", "_version", "_action")
#: Every user task of workflows/complaint_lifecycle.bpmn.
TASKS = ["judge_validity", "reply_not_valid", "hand_over", "analyse_and_propose", "approve_solution",
         "implement_solution", "progress_check", "follow_up", "cs_sign_off", "gm_review", "gm_decide"]
#: Answers that take the lifecycle down the branch where a task lies.
BRANCHES = {"reply_not_valid": {"judge_validity": {"valid": False}},
            "gm_decide": {"follow_up": {"satisfied": False}}}
#: Widgets that show a posted value back as text (radio buttons can only show the offered values).
SHOWN_WIDGETS = {"text", "textarea", "email", "number", "datetime", "date", "select", "file"}
#: Process owners' tables: no form here writes them, and they are big, so they are compared by count.
COUNTED_ONLY = {"process_versions", "model_files", "model_drafts", "model_draft_files"}
#: Throttling's counters (web/db_limits.py): every post to the public form counts against its address, refused or not.
NOT_DATA = {"rate_limits"}
HUGE = 1_000_000
BOUNDARY = "fuzz-5f0c2e9a"

#: Texts that trouble text handling: bidi controls, combining marks, emoji sequences, zero-width and
#: control characters, lone surrogates (sent as the bytes a broken client sends), markup and SQL.
NASTY = ["\u202e", "\u200f", "\u2066", "\u0301", "\u0489", "\u0e49", "👍🏽", "👨‍👩‍👧", "🏳️‍🌈", "\u200b", "\u200d",
         "\ufeff", "\x01", "\x07", "\x1b", "\x7f", "\x85", "\u2028", "\r\n", "\t", "\ud800", "\udfff", "<", ">",
         "&", '"', "'", "</textarea>", "<script>", "{{ 7*7 }}", "%s", "' OR 1=1 --", "\\", "%00"]
#: Names no form has: SpiffWorkflow's `typename`, nested and prototype names, odd characters.
HOSTILE_NAMES = ["typename", "a[b]", "a.b", "__proto__", "__class__", "constructor", "prototype", "__init__",
                 "$where", "_private", "", " ", "\u202ename", "名字", "💥", "x" * 300]


#: A character of a hostile text. U+27E6 is left out: the test pages use it to mark untranslated text (see
#: `text_of`).
PIECE = st.one_of(st.sampled_from(NASTY), st.characters(exclude_categories=["Cs"], exclude_characters="\x00\u27e6"))


@cache
def hostile_text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    # Made once per size: the fuzzing draws from it thousands of times, and a new strategy is validated anew.
    return st.lists(PIECE, min_size=min_size, max_size=max_size).map("".join).map(lambda s: s[:max_size])


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


@dataclass(frozen=True)
class Post:
    """One hostile submission, and what about it must be refused."""

    pairs: tuple[tuple[str, str], ...]
    multipart: bool
    flagged: frozenset[str] = frozenset()  # fields that must get an error of their own
    broken: bool = False  # the page's own fields (the task's version) are missing or junk

    def body(self) -> tuple[bytes, str]:
        if not self.multipart:
            encoded = "&".join(f"{quote_from_bytes(_utf8(k), safe='')}={quote_from_bytes(_utf8(v), safe='')}"
                               for k, v in self.pairs)
            return encoded.encode("ascii"), "application/x-www-form-urlencoded"
        parts = [b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                 % (BOUNDARY.encode(), _utf8(k), _utf8(v)) for k, v in self.pairs]
        return b"".join(parts) + b"--%s--\r\n" % BOUNDARY.encode(), f"multipart/form-data; boundary={BOUNDARY}"

    def received(self) -> dict[str, list[str]]:
        """The fields as the server reads them (bad bytes decoded its way): what it must show back."""
        body, content_type = self.body()
        request = EnvironBuilder(method="POST", data=body, content_type=content_type).get_request()
        return request.form.to_dict(flat=False)

    def too_large(self, limit: int) -> bool:
        """Whether a multipart text part exceeds Flask's MAX_FORM_MEMORY_SIZE (answered 413)."""
        return self.multipart and any(len(_utf8(value)) > limit for _, value in self.pairs)

    def summary(self) -> str:
        """The submission for a failure report, long values cut short."""
        shown = [(k[:80], v[:80] + (f"…({len(v)})" if len(v) > 80 else "")) for k, v in self.pairs]
        return f"{'multipart' if self.multipart else 'urlencoded'}: {shown}"


def post(client, url: str, submission: Post):
    body, content_type = submission.body()
    return client.post(url, data=body, content_type=content_type)


# --- the database ---------------------------------------------------------------------------------------

def fingerprint(system) -> dict[str, tuple[int, str]]:
    """Every row of every table (model tables by count): a refused post must leave all of it as it was."""
    return database_fingerprint(system.db.engine, counted_only=COUNTED_ONLY, skipped=NOT_DATA)


def assert_unchanged(system, before: dict[str, tuple[int, str]]) -> None:
    after = fingerprint(system)
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"a refused post changed {changed}"


class Unchanged:
    """The fuzzing loops' check that a refused post changed nothing. The database after a post that changed
    nothing is the database before the next one, so it is read once per example instead of twice; after an
    example that failed, it is read again (so shrinking still finds the post that stored something)."""

    def __init__(self, system) -> None:
        self.system = system
        self.known: dict[str, tuple[int, str]] | None = None

    def before(self) -> dict[str, tuple[int, str]]:
        """The database before this example's post."""
        before, self.known = self.known or fingerprint(self.system), None
        return before

    def check(self, before: dict[str, tuple[int, str]]) -> None:
        """Fail if the post changed anything; else remember the database as it is."""
        after = fingerprint(self.system)
        changed = [name for name in before if before[name] != after[name]]
        assert not changed, f"a refused post changed {changed}"
        self.known = after


# --- the schema forms: intake, task forms, drafts ------------------------------------------------------------

@dataclass(frozen=True)
class SchemaForm:
    """A form generated from the model, with a valid submission of it."""

    url: str
    form: FormDefinition
    valid: dict[str, list[str]]
    control: tuple[tuple[str, str], ...] = ()

    @cached_property
    def widgets(self) -> dict[str, str]:
        """Each field's widget, as the page draws it."""
        return {f.name: f.widget for f in describe_form(self.form, "zh", {}, {}, Words())}

    def kinds(self, name: str) -> list[str]:
        kind = self.form.properties[name].get("type", "string")
        return kind if isinstance(kind, list) else [kind]

    def free_texts(self) -> list[str]:
        """Fields that take any text: hostile characters there are valid input."""
        return [n for n, p in self.form.properties.items()
                if self.kinds(n) == ["string"] and not {"enum", "format", "pattern"} & set(p)
                and self.widgets[n] in ("text", "textarea")]


JUNK_TAIL = hostile_text(max_size=12).map(lambda s: "¿" + s.replace("@", ""))


def junk(target: SchemaForm, name: str) -> st.SearchStrategy[str]:
    """Texts the field cannot take. A leading "¿" starts no number, yes/no word, option, date or phone."""
    prop = target.form.properties[name]
    if target.widgets[name] == "file":
        curated = ["0" * 32, "../../etc/passwd", "evidence-1"]  # ids of no upload
    elif "boolean" in target.kinds(name):
        curated = ["maybe", "是", "2", "truee", "null", "[]"]
    elif {"number", "integer"} & set(target.kinds(name)):
        curated = ["十元", "1,5", "--1", "1e", "0x10", "½", "nan", "inf", "-1", "1e999", "1000001", "1e7"]
    elif "enum" in prop:
        curated = [v.upper() for v in prop["enum"]] + [f" {v}" for v in prop["enum"]]
    elif prop.get("format") == "date-time":  # the calendar's ends cannot be shown in every time zone
        curated = ["昨天", "2026-13-45T25:61", "2026-02-30T10:00", "0001-01-01T00:00", "9999-12-31T23:59", "12345"]
    else:
        curated = ["不是电话", "12345", "a@b", "@@", "+86", "138-"]
    return st.one_of(st.sampled_from(curated), JUNK_TAIL)


def mutable_fields(target: SchemaForm) -> dict[str, list[str]]:
    """Which fields each kind of corruption applies to."""
    form = target.form
    names = list(form.properties)
    return {
        "wrong": [n for n in names if target.widgets[n] == "file" or target.kinds(n) != ["string"]
                  or {"enum", "format", "pattern"} & set(form.properties[n])],
        "long": [n for n in names if "maxLength" in form.properties[n]],
        "huge": names,
        "nul": names,
        "repeated": [n for n in names if "array" not in target.kinds(n)],
        "missing": [n for n in form.required if "default" not in form.properties[n]
                    and target.widgets[n] != "checkbox"],
        "unknown": ["*"],
        "broken": ["*"],
    }


@st.composite
def hostile_post(draw, target: SchemaForm, refusing: tuple[str, ...], neutral: tuple[str, ...] = ()) -> Post:
    """A valid submission with hostile text in its free-text fields and 1–3 corruptions: at least one of the
    `refusing` kinds (each of which must be refused), maybe some of the `neutral` ones (which are allowed)."""
    fields = {name: list(values) for name, values in target.valid.items()}
    control = dict(target.control)
    for name in draw(st.sets(st.sampled_from(target.free_texts()))):
        fields[name] = [draw(hostile_text(max_size=min(60, target.form.properties[name].get("maxLength", 60))))]
    targets = mutable_fields(target)
    kinds = [k for k in refusing + neutral if targets[k]]
    chosen = draw(st.lists(st.tuples(st.sampled_from(kinds), st.integers(0, 10**6)), min_size=1, max_size=3))
    chosen.sort(key=lambda c: c[0] != "broken")  # an emptied body first, so later corruptions stay in it
    flagged: set[str] = set()
    broken = refused = False
    touched: set[str] = set()
    for kind, seed in chosen:
        candidates = [n for n in targets[kind] if n not in touched]
        if not candidates:  # one corruption per field, so that each stays what it is
            continue
        name = candidates[seed % len(candidates)]
        touched.add(name)
        if kind == "wrong":
            fields[name] = [draw(junk(target, name))]
        elif kind == "long":  # just over the limit, counted in code points like JSON Schema does
            limit = target.form.properties[name]["maxLength"]
            fields[name] = [draw(st.sampled_from(["x", "é", "字", "😀", "\u0301"])) * (limit + 1)]
        elif kind == "huge":
            fields[name] = ["x" * draw(st.sampled_from([MAX_STRING + 1, HUGE]))]
        elif kind == "nul":
            text = (fields.get(name) or ["abc"])[0]
            at = draw(st.integers(0, len(text)))
            fields[name] = [text[:at] + "\x00" + text[at:]]
        elif kind == "repeated":
            first = (fields.get(name) or ["abc"])[0]
            fields[name] = [first, draw(st.one_of(st.just(first), hostile_text(max_size=10)))]
        elif kind == "missing":
            fields.pop(name, None)
        elif kind == "unknown":
            fields[draw(unknown_name(target))] = [draw(hostile_text(max_size=20))]
        elif target.control:  # broken: the task form's version is gone or not a number
            control["_version"] = draw(st.sampled_from(["", "abc", "1.5", "1e3", "-", "two"]))
            if draw(st.booleans()):
                del control["_version"]
            broken = True
        else:  # broken: the intake has no version; an empty body instead
            fields = {}
            flagged |= set(targets["missing"])
        if kind in refusing and kind not in ("unknown", "broken"):
            flagged.add(name)
        refused |= kind in refusing
    assume(refused)
    pairs = [(name, value) for name, values in fields.items() for value in values] + list(control.items())
    return Post(pairs=tuple(draw(st.permutations(pairs))), multipart=draw(st.booleans()),
                flagged=frozenset(flagged), broken=broken)


#: Any name of a field; no quotes, backslashes or control characters: they would need escaping in a multipart
#: header.
FREE_NAME = st.text(st.characters(exclude_categories=["Cs", "Cc"], exclude_characters='"\\\u27e6'), max_size=20)


def unknown_name(target: SchemaForm) -> st.SearchStrategy[str]:
    names = list(target.form.properties)
    return st.one_of(st.sampled_from(HOSTILE_NAMES), st.sampled_from(names).map(lambda n: f"{n}[]"),
                     st.sampled_from(names).map(lambda n: f"{n}.typename"), FREE_NAME).filter(
        lambda n: n not in target.form.properties and n not in CONTROL)


def expect_form_again(response, submission: Post, target: SchemaForm, limit: int) -> None:
    """A refusal: 413 for an oversized part, 400 without a valid version, else the form again with every
    corrupted field's error beside it, the names the form lacks listed, and every value as typed."""
    if submission.too_large(limit):
        assert response.status_code == 413
        return
    if submission.broken:
        assert response.status_code == 400
        return
    html = text_of(response)
    assert response.status_code == 422, response.status_code
    assert 'class="flash flash-error" role="alert"' in html
    for name in submission.flagged:
        assert f'id="e-{name}"' in html, f"no error beside {name}"
    start_at = html.index('role="alert"')
    alert = html[start_at:html.index("</div>", start_at)]
    received = submission.received()
    for name in received:
        if name not in target.form.properties and name not in CONTROL:
            assert f"<code>{escape(name)}</code>" in alert, f"no error for the name {name!r}"
    for name, values in received.items():
        if target.widgets.get(name) in SHOWN_WIDGETS and len(values) == 1:
            assert str(escape(values[0])) in html, f"{name}: what was typed is not shown back"
    for name, value in target.control:
        if name == "_version" and received.get("_version") == [value]:
            assert f'name="_version" value="{value}"' in html


def fuzz_schema_form(system, client, target: SchemaForm, count: int, refusing: tuple[str, ...],
                     neutral: tuple[str, ...] = ()) -> None:
    """Post `count` hostile submissions; each must be refused and change nothing in the database."""
    limit = client.application.config["MAX_FORM_MEMORY_SIZE"]
    unchanged = Unchanged(system)

    @settings(max_examples=count)
    @given(submission=hostile_post(target, refusing, neutral))
    def refused(submission: Post) -> None:
        note(submission.summary())
        before = unchanged.before()  # per example, so that shrinking finds the post that stored something
        expect_form_again(post(client, target.url, submission), submission, target, limit)
        unchanged.check(before)

    refused()


def _as_posted(answers: dict) -> dict[str, list[str]]:
    return {name: ["true" if v is True else "false" if v is False else str(v)] for name, v in answers.items()}


def reach(system, name: str) -> WorkTask:
    """A complaint with the task `name` open, by the default answers down the task's branch."""
    # Crisis complaints get one round, so a single "not satisfied" brings the general manager's decision.
    cid = start(system, level="crisis" if name == "gm_decide" else "dissatisfied").complaint_id
    until = "implement_solution" if name == "progress_check" else name
    for _ in range(len(TASKS)):
        current = open_task(system, cid).name
        if current == until:
            break
        step(system, cid, current, **BRANCHES.get(name, {}).get(current, {}))
    if name == "progress_check":  # the agent's progress call falls due while the department implements
        clock.advance(timedelta(minutes=40, seconds=1))
        timers.run_due(system.db)
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.scalars(select(WorkTask).where(
            WorkTask.complaint_id == cid, WorkTask.name == name, WorkTask.status == "open")).one()


def task_target(system, row: WorkTask, user: str, action: str = "submit") -> SchemaForm:
    with UnitOfWork(system.db, write=False) as uow:
        view = casework.task_view(uow, system.actor(user), row.id)
    answers = ANSWERS.get(row.name, {"customer_reached": True, "progress_note": "顾客说已收到换货"})
    return SchemaForm(url=f"/task/{row.id}", form=view.meta.form, valid=_as_posted(answers),
                      control=(("_version", str(view.complaint.lock_version)), ("_action", action)))


ALL_KINDS = ("wrong", "long", "huge", "nul", "repeated", "missing", "unknown", "broken")


def test_intake_refuses_hostile_posts_and_records_a_valid_one(system, login):
    agent = login("agent1")
    with UnitOfWork(system.db, write=False) as uow:
        form = intake.intake_form(uow, system.settings.process_id).form
    valid = _as_posted(dict(INTAKE, received_at="2026-11-23T16:45", complaint_object="order"))
    target = SchemaForm(url="/complaints/new", form=form, valid=valid)
    fuzz_schema_form(system, agent, target, examples(60), refusing=ALL_KINDS)
    before = fingerprint(system)
    response = agent.post(target.url, data={name: values[0] for name, values in valid.items()})
    assert response.status_code == 302
    assert fingerprint(system)["complaints"][0] == before["complaints"][0] + 1


@pytest.mark.parametrize("name", TASKS)
def test_task_form_refuses_hostile_posts_and_takes_a_valid_one(system, login, name):
    row = reach(system, name)
    user = WORKER.get(name, "agent1")
    client = login(user)
    target = task_target(system, row, user)
    fuzz_schema_form(system, client, target, examples(20), refusing=ALL_KINDS)
    valid = {field: values[0] for field, values in {**target.valid, **dict(target.control)}.items()}
    response = client.post(target.url, data=valid)
    assert response.status_code == 302, text_of(response)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.get(WorkTask, row.id).status == "completed"


def test_drafts_keep_what_was_typed_but_nothing_no_form_may_hold(system, login):
    """A draft may be incomplete or wrongly typed; names the form lacks, a field twice, NUL and huge texts
    are refused. A draft full of hostile but possible text is kept exactly and loaded again."""
    row = reach(system, "analyse_and_propose")
    head = login("head_logistics")
    target = task_target(system, row, "head_logistics", action="draft")
    fuzz_schema_form(system, head, target, examples(30), refusing=("unknown", "repeated", "nul", "huge"),
                     neutral=("wrong", "long", "missing"))
    typed = {"cause": "\u202e运输<挤压>\u200b 👨‍👩‍👧", "compensation_amount": "十元", "customer_agreed": "maybe",
             "_action": "draft", "_version": "x"}
    assert head.post(target.url, data=typed).status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        saved = drafts.load(uow, system.actor("head_logistics"), row.id).values
    assert saved == {name: [value] for name, value in typed.items() if name not in CONTROL}
    html = text_of(head.get(target.url))
    assert "已载入您在" in html and f"{escape(typed['cause'])}</textarea>" in html and 'value="十元"' in html


# --- the Flask-WTF forms: comments, contacts, deferral requests and decisions ----------------------------------

BLANK = ["", " ", "\n\t ", "\u3000"]
PUBLIC_FORM = {"customer_contact": "138 0013 8000", "customer_name": "王女士", "order_id": "JD-77",
               "description": "快递一直没收到", "demand": "尽快发货", "category": "logistics"}
BAD_TIMES = ["昨天", "2026-11-23", "2026-11-23T16:30:00", "0001-01-01T00:00", "9999-12-31T23:59", "¿16:30"]


@dataclass(frozen=True)
class FixedForm:
    """A form of the complaint or task page, a valid submission, and values each field cannot take: `wrong`
    ones the form refuses itself, `late` ones that only the engine refuses once the form's checks pass."""

    url: str
    valid: dict[str, str]
    wrong: dict[str, list[str]]
    required: tuple[str, ...]
    texts: tuple[str, ...]  # free texts: at most MAX_TEXT characters; the engine refuses NUL in them
    late: dict[str, list[str]] = field(default_factory=dict)
    shown: tuple[str, ...] = ()  # fields shown back as typed; none: refused with an error page instead
    statuses: frozenset[int] = frozenset({422})


def fixed_form(system, which: str) -> tuple[str, FixedForm]:
    """The user and the form `which` on a fresh complaint."""
    cid = start(system).complaint_id
    task = open_task(system, cid)  # judge_validity, with a running deadline
    if which == "comment":
        return "agent1", FixedForm(url=f"/complaints/{cid}/comments", valid={"body": "顾客来电补充了订单号"},
                                   wrong={"body": BLANK}, required=("body",), texts=("body",), shown=("body",))
    if which == "contact":  # now is 17:00 local time
        return "agent1", FixedForm(
            url=f"/complaints/{cid}/contacts",
            valid={"contacted_at": "2026-11-23T16:30", "channel": "phone", "summary": "已电话安抚顾客"},
            wrong={"contacted_at": BAD_TIMES, "channel": ["PHONE", "phone ", "fax", "¿"], "summary": BLANK},
            late={"contacted_at": ["2026-11-24T09:00"]},
            required=("contacted_at", "summary"), texts=("summary",), shown=("contacted_at", "summary"))
    if which == "public":  # the customers' own form (web/public.py); its limits are not what is tested here
        return "", FixedForm(
            url="/complain", valid=dict(PUBLIC_FORM),
            wrong={"customer_contact": BLANK + ["12", "a@b", "电话"], "category": ["LOGISTICS", "fax", "logistics "],
                   "customer_name": BLANK},
            required=("customer_contact", "customer_name", "description", "demand"), texts=("description", "demand"),
            shown=("customer_contact", "customer_name", "order_id", "description", "demand"))
    if which == "deferral":  # the deadline is 17:30 local time; at most 14 days ahead
        return "agent1", FixedForm(
            url=f"/task/{task.id}/deferral", valid={"until": "2026-11-23T20:00", "reason": "顾客手机关机"},
            wrong={"until": BAD_TIMES, "reason": BLANK},
            late={"until": ["2026-11-23T17:10", "2026-11-23T12:00", "2026-12-31T00:00"]},
            required=("until", "reason"), texts=("reason",), shown=("until", "reason"))
    if which == "new_user":  # the administrator's (web/admin.py); the engine refuses bad names and addresses
        return "admin", FixedForm(
            url="/admin/users/new",
            valid={"username": "agent9", "display_name": "周婷 (客服)", "role": "agent", "department": "",
                   "email": "zhou@example.com", "password": "long-enough-1"},
            wrong={"role": ["AGENT", "boss", ""], "department": ["LOGISTICS", "moon", "logistics "]},
            late={"username": ["agent1", "_", "..."], "email": ["not-an-address", "a b@c", "@x"]},
            required=("username", "display_name", "password"), texts=("display_name",),
            shown=("username", "display_name", "email"))
    if which == "deputy":  # a department head's deputy (web/desk.py); now is 17:00 local time
        return "head_logistics", FixedForm(
            url="/deputies", valid={"deputy": "agent2", "starts_at": "2026-11-23T17:00",
                                    "ends_at": "2026-11-25T17:00"},
            wrong={"starts_at": BAD_TIMES, "ends_at": BAD_TIMES},
            late={"deputy": ["nobody", "head_logistics", "owner", "¿"], "ends_at": ["2026-11-23T16:00",
                                                                                 "2027-11-23T16:00"]},
            required=("deputy", "starts_at", "ends_at"), texts=(), shown=("starts_at", "ends_at"))
    if which == "calendar_day":  # the working calendar (web/work_calendar.py); the engine refuses years out of range
        return "admin", FixedForm(
            url="/admin/calendar/days", valid={"day": "2027-02-08", "kind": "holiday", "name": "春节"},
            wrong={"day": ["昨天", "2027-02-30", "0001-01-01", "08/02/2027"], "kind": ["HOLIDAY", "weekend",
                                                                                  "holiday ", ""]},
            late={"day": ["1999-02-08", "2101-01-01"]},
            required=("day", "name"), texts=("name",), shown=("day", "name"))
    if which == "own_password":  # everyone's own (web/admin.py)
        return "head_sales", FixedForm(
            url="/account/password", valid={"current": "demo-pass-2026", "password": "new-pass-2027"},
            wrong={}, late={"current": ["wrong-pass", "demo-pass-2026 "], "password": ["short"]},
            required=("current", "password"), texts=())
    with UnitOfWork(system.db) as uow:
        deferral_id = deferrals.request_deferral(uow, system.actor("agent1"), task.id, "顾客手机关机",
                                                 clock.now() + timedelta(hours=3))
    return "gm", FixedForm(url=f"/deferrals/{deferral_id}", valid={"decision": "approve", "note": "同意"},
                           wrong={"decision": ["maybe", "APPROVE", "approve ", "", "1"]}, required=("decision",),
                           texts=("note",), statuses=frozenset({400, 422}))


@dataclass(frozen=True)
class FixedPost(Post):
    """`flagged` fields get the form's own errors; `late` ones the engine's, only when there are none."""

    late: frozenset[str] = frozenset()


NOT_BLANK = hostile_text(min_size=1).filter(str.strip)


@st.composite
def hostile_fixed_post(draw, target: FixedForm) -> FixedPost:
    """A valid submission with hostile text in its free texts and names the form ignores, and 1–3
    corruptions that must each be refused."""
    fields = {name: [value] for name, value in target.valid.items()}
    for name in draw(st.sets(st.sampled_from(target.texts))) if target.texts else ():
        fields[name] = [draw(NOT_BLANK)]
    for name in draw(st.lists(st.sampled_from(HOSTILE_NAMES), max_size=2, unique=True)):
        fields[name] = [draw(hostile_text(max_size=10))]
    kinds = {"wrong": list(target.wrong), "late": list(target.late), "long": list(target.texts),
             "huge": list(target.valid), "nul": list(target.valid), "repeated": list(target.valid),
             "missing": list(target.required)}
    chosen = draw(st.lists(st.tuples(st.sampled_from(list(kinds)), st.sampled_from(list(target.valid))),
                           min_size=1, max_size=3, unique_by=lambda c: c[1]))
    flagged, late = set(), set()
    for kind, name in chosen:
        if name not in kinds[kind]:
            continue
        # NUL in a free text passes the form and is the engine's to refuse
        (late if kind == "late" or (kind == "nul" and name in target.texts) else flagged).add(name)
        if kind in ("wrong", "late"):
            fields[name] = [draw(st.sampled_from(getattr(target, kind)[name]))]
        elif kind == "long":
            fields[name] = [draw(st.sampled_from(["x", "字", "😀"])) * (MAX_TEXT + 1)]
        elif kind == "huge":
            fields[name] = ["x" * HUGE]
        elif kind == "nul":
            at = draw(st.integers(0, len(fields[name][0])))
            fields[name] = [fields[name][0][:at] + "\x00" + fields[name][0][at:]]
        elif kind == "repeated":
            fields[name] = [fields[name][0], draw(st.sampled_from([fields[name][0], "另一个值"]))]
        else:
            del fields[name]
    assume(flagged or late)
    pairs = [(name, value) for name, values in fields.items() for value in values]
    return FixedPost(pairs=tuple(draw(st.permutations(pairs))), multipart=draw(st.booleans()),
                     flagged=frozenset(flagged), late=frozenset(late))


@pytest.mark.parametrize("which", ["comment", "contact", "deferral", "decision", "public", "new_user", "deputy",
                                   "own_password", "calendar_day"])
def test_page_form_refuses_hostile_posts_and_takes_a_valid_one(system, login, which):
    user, target = fixed_form(system, which)
    client = login(user) if user else make_app(system).test_client()
    client.application.config.update(PUBLIC_FORM_ADDRESS_LIMIT="10000 per hour",
                                     PUBLIC_FORM_CONTACT_LIMIT="10000 per hour")
    limit = client.application.config["MAX_FORM_MEMORY_SIZE"]
    unchanged = Unchanged(system)

    @settings(max_examples=examples(25))
    @given(submission=hostile_fixed_post(target))
    def refused(submission: FixedPost) -> None:
        note(submission.summary())
        before = unchanged.before()
        response = post(client, target.url, submission)
        unchanged.check(before)
        if submission.too_large(limit):
            assert response.status_code == 413
            return
        html = text_of(response)
        assert response.status_code in target.statuses, response.status_code
        if not target.shown:
            return
        for name in submission.flagged or submission.late:
            assert re.search(rf'<div class="field has-error">\s*<label for="{name}"', html), f"no error at {name}"
        for name, values in submission.received().items():
            if name in target.shown and len(values) == 1:
                assert str(escape(values[0])) in html, f"{name}: what was typed is not shown back"

    refused()
    before = fingerprint(system)
    response = client.post(target.url, data=target.valid)
    assert response.status_code == 302
    assert fingerprint(system) != before


# --- CSRF ----------------------------------------------------------------------------------------------------

def _signed_in_with_csrf(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": "demo-pass-2026", "csrf_token": token})
    assert response.status_code == 302
    return client


def test_posts_without_the_csrf_token_are_refused_and_store_nothing(system):
    """Comments and task submissions are covered in test_access; here the intake, contacts, drafts,
    deferral requests and decisions."""
    app = make_app(system, csrf=True)
    agent, gm = _signed_in_with_csrf(app, "agent1"), _signed_in_with_csrf(app, "gm")
    cid = start(system).complaint_id
    task = open_task(system, cid)
    with UnitOfWork(system.db) as uow:
        deferral_id = deferrals.request_deferral(uow, system.actor("agent1"), task.id, "顾客手机关机",
                                                 clock.now() + timedelta(hours=3))
    before = fingerprint(system)
    posts = [
        (agent, "/complaints/new", INTAKE),
        (agent, f"/complaints/{cid}/contacts", {"contacted_at": "2026-11-23T16:30", "channel": "phone",
                                                "summary": "已联系"}),
        (agent, f"/task/{task.id}", {"_action": "draft", "_version": "2", "validity_reason": "草稿"}),
        (agent, f"/task/{task.id}/deferral", {"until": "2026-11-23T20:00", "reason": "关机"}),
        (gm, f"/deferrals/{deferral_id}", {"decision": "approve", "note": "同意"}),
    ]
    for client, url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 400 and "表单已过期" in text_of(response), url
        assert_unchanged(system, before)
    token = re.search(r'name="csrf_token" value="([^"]+)"', agent.get("/complaints/new").get_data(as_text=True))
    assert agent.post("/complaints/new", data=dict(INTAKE, csrf_token=token.group(1))).status_code == 302


# --- what the fuzzing found ------------------------------------------------------------------------------------

def test_cases_found_by_fuzzing_are_refused(system, login):
    """Each of these was a 500, a stored value, a slow request, or an error nobody could see, before the fix."""
    agent, gm = login("agent1"), login("gm")
    cid = start(system).complaint_id
    other = start(system).complaint_id
    task = open_task(system, cid)
    version = str(task_target(system, task, "agent1").control[0][1])
    with UnitOfWork(system.db) as uow:
        deferral_id = deferrals.request_deferral(uow, system.actor("agent1"), open_task(system, other).id,
                                                 "顾客手机关机", clock.now() + timedelta(hours=3))
    intake = list(INTAKE.items())
    cases = [  # (client, url, posted, status, a text the answer must show)
        # year 1 or 9999: stored, after which every page showing the complaint failed converting it
        (agent, "/complaints/new", [*intake, ("received_at", "0001-01-01T00:00")], 422, "请输入日期和时间"),
        (agent, "/complaints/new", [*intake, ("received_at", "9999-12-31T23:59")], 422, "请输入日期和时间"),
        # year 1 in the page forms: a 500 converting it to UTC
        (agent, f"/complaints/{cid}/contacts", [("contacted_at", "0001-01-01T00:00"), ("channel", "phone"),
                                                ("summary", "s")], 422, "请输入日期和时间"),
        (agent, f"/task/{task.id}/deferral", [("until", "0001-01-01T00:00"), ("reason", "r")], 422,
         "请输入日期和时间"),
        # a field twice: the last (schema forms) or the first (page forms, decisions) value was taken
        (agent, f"/task/{task.id}", [("_version", version), ("valid", "true"), ("valid", "false"),
                                     ("validity_reason", "理由")], 422, "此项只能填写一个值"),
        (agent, f"/complaints/{cid}/comments", [("body", "甲"), ("body", "乙")], 422, "此项只能填写一个值"),
        (gm, f"/deferrals/{deferral_id}", [("decision", "approve"), ("decision", "reject")], 400, "请求无效"),
        # NUL: stored (and a 500 on PostgreSQL); at the end of a date-time, fromisoformat dropped it and the rest was
        # taken as a valid time
        (agent, "/complaints/new", [*intake, ("received_at", "2026-11-23T16:45\x00")], 422, "文本含有不允许的空字符"),
        (agent, f"/complaints/{cid}/comments", [("body", "a\x00b")], 422, "文本含有不允许的空字符"),
        (agent, f"/task/{task.id}/deferral", [("until", "2026-11-23T20:00"), ("reason", "关\x00机")], 422,
         "文本含有不允许的空字符"),
        (gm, f"/deferrals/{deferral_id}", [("decision", "approve"), ("note", "同\x00意")], 422, "未被接受"),
        # drafts kept anything
        (agent, f"/task/{task.id}", [("_action", "draft"), ("validity_reason", "a\x00")], 422,
         "文本含有不允许的空字符"),
        (agent, f"/task/{task.id}", [("_action", "draft"), ("typename", "x")], 422, "<code>typename</code>"),
        # a name the form lacks was refused without saying so: its error had no field to stand beside
        (agent, f"/task/{task.id}", [("_version", version), ("valid", "true"), ("validity_reason", "理由"),
                                     ("a[b]", "x")], 422, "<code>a[b]</code>: 此字段不属于该表单"),
        # a NUL hid every other error (here: `valid` is missing)
        (agent, f"/task/{task.id}", [("_version", version), ("validity_reason", "a\x00")], 422, 'id="e-valid"'),
    ]
    before = fingerprint(system)
    for client, url, pairs, status, shown in cases:
        response = post(client, url, Post(pairs=tuple(pairs), multipart=False))
        assert response.status_code == status and shown in text_of(response), (url, pairs)
        assert_unchanged(system, before)


def test_an_overlong_text_is_not_matched_against_the_pattern(system, login):
    """Matching this against the contact's phone/e-mail pattern backtracked for seconds per request; over its
    maxLength, the pattern is no longer tried."""
    contact = "a@" + "." * 19_000 + " "
    html = text_of(login("agent1").post("/complaints/new", data=dict(INTAKE, customer_contact=contact)))
    errors = html[html.index('id="e-customer_contact"'):]
    errors = errors[:errors.index("</div>")]
    assert "最多 200 个字符" in errors and "格式不正确" not in errors
