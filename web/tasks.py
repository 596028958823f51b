"""Task lists (mine, queue, overdue, due soon), claiming and releasing, and the task form."""
from __future__ import annotations

from datetime import UTC

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from engine.complaints import casework, deferrals, evidence, tasks
from engine.complaints import form_drafts as drafts
from engine.complaints.worklist import CLAIM_STATES, DUE_STATES, MAX_TEXT, SCOPES, SORTS, Filters
from engine.errors import Conflict, InvalidInput
from engine.workflow.versions import load_version
from forms.errors import FieldErrors
from forms.render import defaults, describe_values, merged, raw_values, render_instructions, value_text
from forms.validate import raw_errors
from web import classification, labels, schema_forms
from web.context import actor, page_number, reading, safe_next, staff_blueprint, state, writing
from web.forms import ActionForm, DeferralForm
from web.i18n import field_errors, lang, tz, words
from web.present import complaint_data, enum_label, know_names, rounds_shown, since_shown, title

bp = staff_blueprint("tasks", __name__)
PER_PAGE = 25
#: A list counts its tasks up to this many and shows more as "1000+" (and "of 40+ pages"): the general manager's
#: pool alone is over 10,000 open tasks at 1,000,000 complaints (docs/PERFORMANCE.md, "1,000,000 complaints").
COUNT_LIMIT = 1000


@bp.get("/")
def index():
    """The first page after signing in (web.desk)."""
    return redirect(url_for("desk.home"))


#: The task lists' filters, as query parameters (a GET form: bookmarkable, nothing changes).
FILTER_ARGS = ("level", "category", "department", "due", "claim", "q")


def _filters() -> tuple[Filters, dict[str, str]]:
    """The filters asked for; a value outside the offered ones is ignored (the list is only narrowed)."""
    args = {name: request.args.get(name, "").strip()[:MAX_TEXT] for name in FILTER_ARGS}
    args["due"] = args["due"] if args["due"] in DUE_STATES else ""
    args["claim"] = args["claim"] if args["claim"] in CLAIM_STATES else ""
    return Filters(level=args["level"] or None, category=args["category"] or None,
                   department=args["department"] or None, due=args["due"] or None, claim=args["claim"] or None,
                   text=args["q"] or None), {k: v for k, v in args.items() if v}


@bp.get("/tasks/<scope>")
def task_list(scope: str):
    if scope not in SCOPES:
        abort(404)
    sort = request.args.get("sort", "due")
    sort = sort if sort in SORTS else "due"
    descending = request.args.get("desc") == "1"
    filters, shown = _filters()
    with reading() as uow:
        page = tasks.task_list(uow, actor(), scope, page=page_number(),
                                  per_page=PER_PAGE, sort=sort, descending=descending, filters=filters,
                                  count_limit=COUNT_LIMIT)
        intake = casework.intake_forms(uow, state().settings.process_id).get(casework.INTAKE)
    return render_template("tasks/list.html", scope=scope, page=page, sort=sort,
                           descending=descending, intake=intake, action_form=ActionForm(), me=actor(),
                           filters=shown, choices=filter_choices(intake))


def filter_choices(intake) -> dict[str, list[tuple[str, str]]]:
    """The offered values of the level and category filters (the intake form's), and departments."""
    def options(name: str) -> list[tuple[str, str]]:
        spec = intake.properties.get(name, {}) if intake is not None else {}
        return [(v, enum_label(intake, name, v)) for v in spec.get("enum", [])]

    return {"level": options("level"), "category": options("category"),
            "department": list(labels.department_names().items())}


@bp.post("/tasks/claim")
def claim_many():
    """Bulk claim: the ticked tasks of a list, in one transaction (those taken meanwhile are skipped)."""
    ids = [i for i in request.form.getlist("task_ids") if 0 < len(i) <= 36]
    with writing() as uow:
        claimed, skipped = tasks.claim_tasks(uow, actor(), ids)
    if skipped:
        flash(_("%(claimed)s tasks are yours now; %(skipped)s could not be claimed (taken meanwhile or not "
                "for your role).", claimed=claimed, skipped=skipped), "warning")
    else:
        flash(_("%(claimed)s tasks are yours now.", claimed=claimed), "success")
    return redirect(safe_next(request.form.get("next"), url_for("tasks.task_list", scope="mine")))


@bp.route("/task/<task_id>/assign", methods=["GET", "POST"])
def assign(task_id: str):
    """A manager gives the task to a named colleague who may work it (or takes it from its holder)."""
    with reading() as uow:
        row, colleagues = tasks.assignable(uow, actor(), task_id)  # refuses who may not assign, before the body
    error = None
    if request.method == "POST":
        try:
            with writing() as uow:
                tasks.assign_task(uow, actor(), task_id, request.form.get("assignee", "")[:80])
        except InvalidInput as err:
            error = "; ".join(m for ms in field_errors(err.errors).values() for m in ms)
        else:
            flash(_("The task is assigned."), "success")
            return redirect(safe_next(request.form.get("next"), url_for("desk.home")))
    return render_template("tasks/assign.html", row=row, colleagues=colleagues, error=error,
                           action_form=ActionForm(), next=request.values.get("next", "")), 422 if error else 200


@bp.post("/tasks/<task_id>/claim")
def claim(task_id: str):
    return _hand_over(tasks.claim_task, task_id, _("The task is yours now."), "mine")


@bp.post("/tasks/<task_id>/release")
def release(task_id: str):
    return _hand_over(tasks.release_task, task_id, _("The task is back in the queue."), "queue")


def _hand_over(use_case, task_id: str, done: str, back_to: str):
    """Claim or release: the use case, its flash, back to `next` or the list the task now is in."""
    with writing() as uow:
        use_case(uow, actor(), task_id)
    flash(done, "success")
    return redirect(safe_next(request.form.get("next"), url_for("tasks.task_list", scope=back_to)))


@bp.get("/task/<task_id>")
def show(task_id: str):
    view = _view(task_id)
    if view.row.status != "open":
        return _handled(view, {}), 409
    return _page(view, _initial_values(view), {})


@bp.post("/task/<task_id>")
def submit(task_id: str):
    with reading() as uow:
        # The checks and the form of the task page; what the page shows besides (history, draft) is read only
        # when the form is shown again.
        row, meta, complaint = tasks.task_for_form(uow, actor(), task_id)
    values = schema_forms.posted_values()
    if row.status != "open":
        return _handled(_view(task_id), values), 409
    form = meta.form
    errors: FieldErrors = {}
    posted = schema_forms.posted_uploads(form, values, errors)
    settings = state().settings
    if request.form.get("_action") == "draft":
        # A draft may be incomplete, but never holds what no form may (other names, NUL, huge texts);
        # a refused file is said too rather than saving a draft without it.
        errors.update(raw_errors(form, values))
        if errors:
            schema_forms.keep_uploads(posted, values, complaint.id, errors)
            return _page(_view(task_id), values, errors), 422
        with writing() as uow:
            drafts.save(uow, actor(), task_id, values, evidence.Files(schema_forms.all_uploads(posted), settings))
        flash(_("Draft saved. You can come back to it at any time."), "success")
        return redirect(url_for("tasks.show", task_id=task_id))
    version = request.form.get("_version", type=int)
    if version is None:
        abort(400)
    data, more = schema_forms.check(form, values)
    errors.update(more)
    if not errors:
        try:
            with writing() as uow:
                # One transaction: the files, the completion and dropping the task's drafts.
                tasks.complete_task(uow, actor(), task_id, data, version,
                                    files=evidence.Files(schema_forms.all_uploads(posted), settings))
        except InvalidInput as err:
            errors = dict(err.errors)
        except Conflict:
            schema_forms.keep_uploads(posted, values, complaint.id, {})
            return _conflict(task_id, values)
    if errors:
        schema_forms.keep_uploads(posted, values, complaint.id, errors)
        return _page(_view(task_id), values, errors, version), 422
    flash(_("Done: %(task)s.", task=title(row)), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint.id))


@bp.post("/task/<task_id>/deferral")
def request_deferral(task_id: str):
    """Ask the general manager to move the task's deadline (the customer cannot be reached)."""
    form = DeferralForm()
    if form.validate_on_submit():
        try:
            with writing() as uow:
                until = form.until.data.replace(tzinfo=tz()).astimezone(UTC)
                deferrals.request_deferral(uow, actor(), task_id, form.reason.data, until)
        except InvalidInput as err:
            for name, messages in field_errors(err.errors).items():
                (form.until if name in ("until", "task") else form.reason).errors = messages
        else:
            flash(_("Deferral requested. The general manager decides."), "success")
            return redirect(url_for("tasks.show", task_id=task_id))
    view = _view(task_id)
    if view.row.status != "open":
        return _handled(view, {}), 409
    return _page(view, _initial_values(view), {}, deferral_form=form), 422


def _view(task_id: str) -> casework.TaskView:
    """The task page's view of a task the actor may work on."""
    with reading() as uow:
        view = casework.task_view(uow, actor(), task_id)
    know_names(view.names)
    return view


def _initial_values(view: casework.TaskView) -> dict[str, list[str]]:
    """The user's draft, else the schema's defaults and the complaint's data."""
    if view.draft:
        return view.draft.values
    form = view.meta.form
    return raw_values(form, {**defaults(form), **view.prefill}, tz())


def _conflict(task_id: str, values: dict[str, list[str]]):
    """Someone changed the complaint first. If the task is still open for this user, show the form again
    with what they typed and the new version; otherwise say it is handled. Either way: 409, nothing saved."""
    view = _view(task_id)
    if view.row.status == "open" and view.assignee in (None, actor().username):
        flash(_("The complaint changed while you were working on it. Check the form and send it again."),
              "warning")
        return _page(view, values, {}), 409
    return _handled(view, values), 409


def _page(view: casework.TaskView, values: dict[str, list[str]], errors: dict[str, list[str]],
          version: int | None = None, deferral_form: DeferralForm | None = None) -> str:
    """The task form with `values` as typed and `errors` beside their fields."""
    with reading() as uow:
        attached = {e.id: e for e in evidence.of_complaint(uow, view.complaint.id)}
        # The model's task by name (None when the version does not have it), for titles in the round panels.
        task_meta = load_version(uow.session, view.complaint.version_id).tasks.get
    variables = view.complaint.variables or {}
    every = merged(list(view.forms.values()))
    source = view.meta.instructions_en if lang() == "en" and view.meta.instructions_en \
        else view.meta.instructions
    instructions = render_instructions(source, variables, lambda name, value: value_text(
        every.properties.get(name, {}), value, lang(), words(), tz()))
    return render_template(
        "tasks/form.html", view=view, fields=schema_forms.fields(view.meta.form, values, errors),
        has_errors=bool(errors), other_errors=schema_forms.other_errors(view.meta.form, errors),
        version=view.complaint.lock_version if version is None else version,
        instructions=instructions, attached=attached,
        data=complaint_data({k: f for k, f in view.forms.items() if k == casework.INTAKE}, variables),
        rounds=rounds_shown(view.history, view.forms, task_meta) if view.history else [],
        since=since_shown(view.history, view.forms, task_meta),
        held_by_other=view.assignee not in (None, actor().username), action_form=ActionForm(),
        deferral_form=deferral_form or DeferralForm(formdata=None), suggestion=classification.suggestion_for(view))


def _handled(view: casework.TaskView, values: dict[str, list[str]]) -> str:
    """The "already handled" page; what the user typed is shown so that nothing is silently lost."""
    typed = schema_forms.typed_for_display(view.meta.form, values) if values else {}
    return render_template("tasks/handled.html", view=view,
                           typed=describe_values(view.meta.form, typed, lang(), words(), tz()))
