"""A process owner's draft of a model and the browser modeller: starting one from uploaded files, editing,
saving, validating, running its test cases, deploying it; previews of task forms."""
from __future__ import annotations

import json

from flask import (
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from engine.errors import Code, InvalidInput
from engine.modelling import deployment as modelling
from engine.modelling import drafts as model_drafts
from engine.modelling import uploads as process_models
from engine.modelling.decision_tables import read_tables
from engine.modelling.drafts import DraftCheck
from engine.people.roles import LANE_ROLES
from engine.workflow.model_xml import ModelInvalid
from forms.schema import FormDefinition
from web import messages, schema_forms, security
from web.context import actor, reading, state, writing
from web.i18n import field_errors
from web.modelling import modeller_words
from web.modelling.blueprint import MAX_UPLOAD, bp, model_file_response


def _uploaded() -> process_models.Upload:
    files = {}
    for storage in request.files.getlist("files"):
        if storage.filename:
            if storage.filename in files:
                raise InvalidInput.field(storage.filename, Code.DUPLICATE_FILE)
            files[storage.filename] = storage.read()
    return process_models.read_upload(files)


def _flash_refusal(err: InvalidInput) -> None:
    for name, texts in field_errors(err.errors).items():
        flash(_("%(file)s was refused: %(reason)s", file=name, reason=" ".join(texts)), "error")


@bp.post("/upload")
def upload_new():
    """Start a draft from files made in another modeller; the BPMN file's process names the draft."""
    try:
        upload = _uploaded()
        with writing() as uow:
            draft = model_drafts.draft_from_upload(uow, actor(), upload, state().settings.process_id)
    except InvalidInput as err:
        _flash_refusal(err)
        return redirect(url_for(".index"), 303)
    _flash_upload(upload)
    return redirect(url_for(".editor", process_id=draft.process_id), 303)


def _flash_upload(upload: process_models.Upload) -> None:
    flash(_("Uploaded into your draft: %(files)s. Validate it to see whether it can run here.",
            files=", ".join(sorted(upload.files))), "success")
    if upload.ignored:
        flash(_("Ignored (not model, form or test files): %(files)s", files=", ".join(upload.ignored)), "info")


@bp.post("/<process_id>/draft/open")
def open_draft(process_id: str):
    with writing() as uow:
        model_drafts.open_draft(uow, actor(), process_id)
    return redirect(url_for(".editor", process_id=process_id), 303)


@bp.get("/<process_id>/draft")
def editor(process_id: str):
    with reading() as uow:
        draft = model_drafts.get_draft(uow, actor(), process_id)
    if draft is None:
        flash(_("You have no draft of %(process)s: start one with Edit.", process=process_id), "info")
        return redirect(url_for(".index"), 303)
    files = sorted(draft.files)
    config = {
        "processId": process_id, "csrf": generate_csrf(), "roles": list(LANE_ROLES),
        "bpmnFiles": [p for p in files if p.endswith(".bpmn")],
        "dmnFiles": [p for p in files if p.endswith(".dmn")],
        "formFiles": [p for p in files if p.endswith(".json") and not p.startswith("tests/")],
        "decisions": [t.decision_id for t in read_tables(draft.files)],
        "urls": {
            "file": url_for(".draft_file", process_id=process_id, path="x")[:-1],
            "save": url_for(".save", process_id=process_id),
            "validate": url_for(".validate", process_id=process_id),
            "test": url_for(".run_tests", process_id=process_id),
            "deploy": url_for(".deploy", process_id=process_id),
            "preview": url_for(".form_preview"),
        },
        "text": modeller_words.modeller_text(),
        "panel": modeller_words.panel_text(),
    }
    page = render_template("modelling/editor.html", draft=draft, files=files, config=config,
                           tasks=model_drafts.task_forms(draft.files), max_mb=MAX_UPLOAD // (1024 * 1024))
    return page, {"Content-Security-Policy": security.EDITOR_CSP}


@bp.get("/<process_id>/draft/files/<path:path>")
def draft_file(process_id: str, path: str):
    with reading() as uow:
        draft = model_drafts.get_draft(uow, actor(), process_id)
    if draft is None or path not in draft.files:
        abort(404)
    return model_file_response(draft.files[path], path.rsplit("/", 1)[-1], download=False)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


@bp.post("/<process_id>/draft/files")
def save(process_id: str):
    """Save files of the draft: JSON `{"files": {path: text}}`."""
    files = _json_body().get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        abort(400)
    try:
        with writing() as uow:
            model_drafts.save_files(uow, actor(), process_id, files)
    except InvalidInput as err:
        return jsonify(errors=field_errors(err.errors), codes=messages.as_dicts(err.errors)), 422
    return jsonify(saved=sorted(files))


@bp.post("/<process_id>/draft/upload")
def upload(process_id: str):
    try:
        uploaded = _uploaded()
        with writing() as uow:
            model_drafts.upload_into_draft(uow, actor(), process_id, uploaded)
    except InvalidInput as err:
        _flash_refusal(err)
    else:
        _flash_upload(uploaded)
    return redirect(url_for(".editor", process_id=process_id), 303)


@bp.post("/<process_id>/draft/delete-file")
def delete_file(process_id: str):
    path = request.form.get("path", "")
    with writing() as uow:
        model_drafts.delete_file(uow, actor(), process_id, path)
    flash(_("%(file)s was removed from your draft.", file=path), "success")
    return redirect(url_for(".editor", process_id=process_id), 303)


@bp.post("/<process_id>/draft/discard")
def discard(process_id: str):
    with writing() as uow:
        model_drafts.discard(uow, actor(), process_id)
    flash(_("Your draft of %(process)s was discarded.", process=process_id), "success")
    return redirect(url_for(".index"), 303)


def _check_json(check: DraftCheck):
    return jsonify(
        problems=[messages.problem_texts(p.as_dict(), _) for p in check.problems], tests_run=check.tests_run,
        passed=check.passed,
        results=[{"file": r.file, "name": r.name, "passed": r.passed, "path": r.path,
                  "failures": [messages.render(f.code, f.params, _) for f in r.failures],
                  "failure_codes": [f.as_dict() for f in r.failures]} for r in check.results])


@bp.post("/<process_id>/draft/validate")
def validate(process_id: str):
    with reading() as uow:
        return _check_json(model_drafts.check_draft(uow, actor(), process_id, run_tests=False))


@bp.post("/<process_id>/draft/test")
def run_tests(process_id: str):
    with reading() as uow:
        return _check_json(model_drafts.check_draft(uow, actor(), process_id))


@bp.post("/<process_id>/draft/deploy")
def deploy(process_id: str):
    try:
        with writing() as uow:
            deployed = model_drafts.deploy_draft(uow, actor(), process_id)
    except ModelInvalid as err:
        return _check_json(DraftCheck(problems=err.problems)), 422
    except modelling.ModelTestsFailed as err:
        return _check_json(DraftCheck(problems=[], results=err.results, tests_run=True)), 422
    flash(_("Version %(version)s of %(process)s is deployed: new complaints start on it.",
            version=deployed.id, process=process_id), "success")
    return jsonify(redirect=url_for(".version", version_id=deployed.id))


@bp.get("/<process_id>/draft/tasks/<task_id>/preview")
def task_preview(process_id: str, task_id: str):
    """The form a task of the draft shows (its own, or the generic one when it names none)."""
    try:
        with reading() as uow:
            form = model_drafts.preview_task_form(uow, actor(), process_id, task_id)
    except ModelInvalid:
        return jsonify(error=_("Validate the draft first: the preview needs a valid model.")), 422
    return jsonify(html=_render_form(form))


@bp.post("/form-preview")
def form_preview():
    """A form schema (and UI schema) drawn by the same renderer task forms use, as an HTML fragment."""
    body = _json_body()
    try:
        schema = json.loads(body.get("schema") or "{}")
        ui = json.loads(body.get("ui") or "{}")
    except (TypeError, json.JSONDecodeError) as err:
        return jsonify(html="", error=_("Not valid JSON: %(detail)s", detail=str(err)))
    if not isinstance(schema, dict) or schema.get("type") != "object" or not isinstance(ui, dict) \
            or not isinstance(schema.get("properties", {}), dict):
        return jsonify(html="", error=_('A form schema is a JSON object with "type": "object" and "properties".'))
    try:
        return jsonify(html=_render_form(FormDefinition(schema=schema, ui=ui)))
    except (TypeError, ValueError, AttributeError, KeyError) as err:
        return jsonify(html="", error=_("The form cannot be drawn: %(detail)s", detail=str(err)))


def _render_form(form: FormDefinition) -> str:
    return render_template("modelling/_form_preview.html", fields=schema_forms.fields(form, {}, {}))
