"""Recording a complaint, the complaint page (timeline, contacts, comments, evidence, diagram),
and everything added from it."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from engine import clock
from engine.complaints import casework, evidence, intake, remedies, withdrawal
from engine.errors import InvalidInput
from engine.people.access import check_can_record
from engine.workflow.versions import TaskMeta
from forms.errors import FieldErrors, FormCode, error
from forms.render import raw_values, render_instructions
from forms.schema import FormDefinition
from web import schema_forms
from web.context import actor, reading, staff_blueprint, state, writing
from web.forms import CommentForm, ContactForm, WithdrawForm
from web.i18n import field_errors, lang, tz
from web.modelling import model_file_response
from web.present import complaint_data, know_names, timeline

bp = staff_blueprint("complaints", __name__)


# --- intake ------------------------------------------------------------------------------------------

#: The intake of a model whose start event has no form: no fields, as the API's intake form says; the
#: engine then starts the complaint on what the model does (docs/MODELLING.md, "When a model fails while it runs").
NO_INTAKE_FORM = TaskMeta(name="", title="", title_en="", role=None, instructions="", instructions_en="",
                          form=FormDefinition(schema={"type": "object"}))


@bp.route("/complaints/new", methods=["GET", "POST"])
def new():
    check_can_record(actor())
    with reading() as uow:
        meta = intake.intake_form(uow, state().settings.process_id) or NO_INTAKE_FORM
    form = meta.form
    if request.method == "GET":
        return _intake_page(meta, raw_values(form, {}, tz()), {})
    values = schema_forms.posted_values()
    file_fields = schema_forms.file_fields(form)
    earlier = [i for name in file_fields for i in values.get(name, [])]  # uploads kept by a failed post
    errors: FieldErrors = {}
    posted = schema_forms.posted_uploads(form, values, errors)
    data, more = schema_forms.check(form, values)
    errors = {**more, **errors}
    if not any(name in errors for name in file_fields):  # the schema bounds how many ids are looked up
        try:
            with reading() as uow:
                evidence.pending(uow, actor(), earlier)
        except InvalidInput as err:
            errors.update(err.errors)
    if not errors:
        try:
            with writing() as uow:
                # One transaction: the complaint, its evidence and the customer's private link, queued for them.
                result = intake.record_complaint(uow, state().settings, actor(), data, current_app.secret_key,
                                                 uploads=schema_forms.all_uploads(posted),
                                                 evidence_ids=earlier).result
        except InvalidInput as err:
            errors = dict(err.errors)
    if errors:
        schema_forms.keep_uploads(posted, values, None, errors)
        return _intake_page(meta, values, errors), 422
    flash(_("Complaint %(reference)s recorded.", reference=result.reference), "success")
    return redirect(url_for("complaints.show", complaint_id=result.complaint_id))


def _intake_page(meta, values: dict[str, list[str]], errors: dict[str, list[str]]) -> str:
    ids = [i for name in schema_forms.file_fields(meta.form) for i in values.get(name, [])]
    with reading() as uow:
        try:
            uploaded = {e.id: e for e in evidence.pending(uow, actor(), ids)}
        except InvalidInput:
            uploaded = {}
    source = meta.instructions_en if lang() == "en" and meta.instructions_en else meta.instructions
    # The model's instructions as on task forms: paragraphs, lists and **bold**, never literal asterisks.
    instructions = render_instructions(source or "", {}, lambda _name, value: str(value))
    return render_template("complaints/new.html", meta=meta, has_errors=bool(errors), attached=uploaded,
                           instructions=instructions,
                           fields=schema_forms.fields(meta.form, values, errors),
                           other_errors=schema_forms.other_errors(meta.form, errors))


# --- the complaint page ------------------------------------------------------------------------------

@bp.get("/complaints/<int:complaint_id>")
def show(complaint_id: int):
    return _complaint_page(complaint_id, CommentForm(), ContactForm(formdata=None), {})


def _complaint_page(complaint_id: int, comment_form: CommentForm, contact_form: ContactForm,
                    evidence_errors: FieldErrors, status: int = 200, withdraw_form: WithdrawForm | None = None):
    with reading() as uow:
        view = casework.complaint_view(uow, actor(), complaint_id)
        shown = remedies.remedies_view(uow, actor(), complaint_id, tz())
    know_names(view.names)
    if contact_form.contacted_at.data is None and not contact_form.errors:
        now = clock.now().astimezone(tz())
        contact_form.contacted_at.data = now.replace(second=0, microsecond=0, tzinfo=None)
    return render_template(
        "complaints/show.html", view=view, c=view.complaint, entries=timeline(view),
        data=complaint_data(view.forms, view.complaint.variables or {}), comment_form=comment_form,
        contact_form=contact_form, evidence_errors=field_errors(evidence_errors).get("evidence", []),
        completed=sorted(set(view.completed_tasks)),
        current=sorted({t.row.name for t in view.open_tasks}),
        remedy_list=shown.remedies, return_check=shown.return_check, review_window=shown.review,
        remedy_states=remedies.STATES, withdraw_form=withdraw_form or WithdrawForm(formdata=None),
        can_withdraw=view.complaint.status == "open" and actor().role in withdrawal.WITHDRAWING_ROLES,
    ), status


#: The timeline events the printed work order lists under "handling" (the rest is bookkeeping).
PRINTED_EVENTS = {"complaint_started", "task_completed", "deadline_breached", "task_escalated", "deferral_requested",
                  "deferral_approved", "deferral_rejected", "survey_answered", "complaint_closed"}


@bp.get("/complaints/<int:complaint_id>/print")
def print_view(complaint_id: int):
    """The complaint as the regulation's paper form (投诉处理单 / 协调工作单) on A4: the record, each step with
    who did it and when, the contacts, deductions, evidence and the two signatures; no navigation, no forms."""
    with reading() as uow:
        view = casework.complaint_view(uow, actor(), complaint_id)
    variables = view.complaint.variables or {}
    return render_template(
        "complaints/print.html", view=view, c=view.complaint,
        data=complaint_data(view.forms, variables),
        steps=[e for e in timeline(view) if e.kind in PRINTED_EVENTS], variables=variables,
        printed_at=clock.now())


@bp.get("/complaints/<int:complaint_id>/model.bpmn")
def model(complaint_id: int):
    """The BPMN of the model version this complaint runs on (for the diagram)."""
    with reading() as uow:
        xml = casework.model_xml(uow, actor(), complaint_id)
    return model_file_response(xml, f"complaint-{complaint_id}-model.bpmn")


def _check_can_add_to(complaint_id: int) -> None:
    """The role first, so that a refusal never depends on what was posted."""
    with reading() as uow:
        casework.check_can_add_to(uow, actor(), complaint_id)


@bp.post("/complaints/<int:complaint_id>/comments")
def comment(complaint_id: int):
    _check_can_add_to(complaint_id)
    form = CommentForm()
    if not form.validate_on_submit():
        return _complaint_page(complaint_id, form, ContactForm(formdata=None), {}, 422)
    try:
        with writing() as uow:
            casework.add_comment(uow, actor(), complaint_id, form.body.data)
    except InvalidInput as err:
        form.body.errors = field_errors(err.errors).get("body", [])
        return _complaint_page(complaint_id, form, ContactForm(formdata=None), {}, 422)
    flash(_("Comment added."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id, _anchor="comments"))


@bp.post("/complaints/<int:complaint_id>/contacts")
def contact(complaint_id: int):
    _check_can_add_to(complaint_id)
    form = ContactForm()
    if not form.validate_on_submit():
        return _complaint_page(complaint_id, CommentForm(formdata=None), form, {}, 422)
    try:
        with writing() as uow:
            casework.record_contact(uow, actor(), complaint_id, form.contacted_at.data.replace(tzinfo=tz()),
                                    form.channel.data, form.summary.data)
    except InvalidInput as err:
        for name, messages in field_errors(err.errors).items():
            getattr(form, name).errors = messages
        return _complaint_page(complaint_id, CommentForm(formdata=None), form, {}, 422)
    flash(_("Contact recorded."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id, _anchor="contacts"))


@bp.post("/complaints/<int:complaint_id>/evidence")
def upload(complaint_id: int):
    _check_can_add_to(complaint_id)
    uploads = [evidence.Upload(filename=f.filename or "", content=f.read())
               for f in request.files.getlist("files") if f.filename]
    if not uploads:
        return _complaint_page(complaint_id, CommentForm(formdata=None), ContactForm(formdata=None),
                               {"evidence": [error(FormCode.REQUIRED)]}, 422)
    try:
        with writing() as uow:
            evidence.store_uploads(uow, state().settings, actor(), uploads, complaint_id)
    except InvalidInput as err:
        return _complaint_page(complaint_id, CommentForm(formdata=None), ContactForm(formdata=None),
                               err.errors, 422)
    flash(_("Evidence added."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id, _anchor="evidence"))


@bp.post("/complaints/<int:complaint_id>/withdraw")
def withdraw(complaint_id: int):
    """The customer withdrew (撤诉): the agent records it with the reason, and the complaint closes."""
    with reading() as uow:
        withdrawal.check_can_withdraw(uow, actor(), complaint_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _complaint_page(complaint_id, CommentForm(formdata=None), ContactForm(formdata=None), {}, 422,
                               withdraw_form=form)
    try:
        with writing() as uow:
            withdrawal.withdraw(uow, actor(), complaint_id, form.reason.data, form.note.data or "")
    except InvalidInput as err:
        for name, messages in field_errors(err.errors).items():
            getattr(form, name).errors = messages
        return _complaint_page(complaint_id, CommentForm(formdata=None), ContactForm(formdata=None), {}, 422,
                               withdraw_form=form)
    flash(_("The withdrawal is recorded; the complaint is closed."), "success")
    return redirect(url_for("complaints.show", complaint_id=complaint_id))


#: Kinds shown in the page itself (their content was sniffed at upload, `evidence.sniff`); never SVG or
#: HTML, which could run script: those kinds are not accepted at all, and anything else downloads.
INLINE_KINDS = {"jpg", "png", "gif", "webp", "pdf", "mp3", "m4a", "wav", "mp4"}
#: The policy of a file shown inline: nothing in it loads or runs anything else. Pictures, audio and video are
#: sandboxed and never framed; a PDF may be framed by this site only (its preview on the complaint page; the
#: browser's PDF viewer does not run in a sandbox).
INLINE_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
PDF_CSP = "default-src 'none'; frame-ancestors 'self'"


@bp.get("/evidence/<evidence_id>/view")
def view_file(evidence_id: str):
    """An evidence file to show in the page (picture, PDF, audio, video) with its sniffed type; any other
    kind is sent as a download."""
    with reading() as uow:
        row, path = evidence.open_file(uow, state().settings, actor(), evidence_id)
    if row.kind not in INLINE_KINDS:
        return download(evidence_id)
    response = send_file(path, mimetype=row.media_type, as_attachment=False,
                         download_name=evidence.download_name(row), max_age=0, etag=False, conditional=True)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if row.kind == "pdf":
        response.headers["Content-Security-Policy"] = PDF_CSP
        response.headers["X-Frame-Options"] = "SAMEORIGIN"
    else:
        response.headers["Content-Security-Policy"] = INLINE_CSP
    return response


@bp.get("/evidence/<evidence_id>")
def download(evidence_id: str):
    """An evidence file, always as a download and never sniffed by the browser."""
    with reading() as uow:
        row, path = evidence.open_file(uow, state().settings, actor(), evidence_id)
    response = send_file(path, mimetype=row.media_type, as_attachment=True, download_name=evidence.download_name(row),
                         max_age=0, etag=False)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
