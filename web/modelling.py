"""The models pages of process owners (and administrators): deployed versions with their diagrams,
decision tables and differences, the browser modeller on a per-user draft, uploads from other
modellers, deploying, migrating running complaints, and exporting a version as a zip of files."""
from __future__ import annotations

import io
import json
import zipfile

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import RequestEntityTooLarge

from engine.errors import Code, InvalidInput, NotFound
from engine.modelling import deployment as modelling
from engine.modelling import drafts as model_drafts
from engine.modelling import migration
from engine.modelling import uploads as process_models
from engine.modelling.decision_tables import read_tables
from engine.modelling.diff import diff_bundles
from engine.modelling.drafts import DraftCheck
from engine.people.roles import LANE_ROLES
from engine.workflow.model_xml import ModelInvalid
from forms.schema import FormDefinition
from web import messages, schema_forms, security, work_calendar
from web.context import actor, reading, state, writing
from web.errors import error_page
from web.i18n import field_errors, message

bp = Blueprint("modelling", __name__, url_prefix="/models")

#: Where a version came from (`engine.workflow.deploy.SOURCES`), as the models pages say it.
SOURCE_LABELS = {
    "startup": _l("start-up (workflows/ folder)"), "modeller": _l("modeller"), "upload": _l("upload"),
    "api": _l("API"), "cli": _l("command line"),
}


def model_file_response(text: str, filename: str, download: bool = True) -> Response:
    """A model file as data, never as a page: text/plain, not sniffed, under a CSP that sandboxes it (and a
    download unless `download` is False), so that markup inside a version stored before deploying refused
    it cannot run in the reader's session. The diagram viewer fetches it as text."""
    safe_name = "".join(c for c in filename if c.isalnum() or c in "._-") or "model.txt"
    headers = {"Content-Security-Policy": "sandbox; default-src 'none'", "X-Content-Type-Options": "nosniff"}
    headers["Content-Disposition"] = f'{"attachment" if download else "inline"}; filename="{safe_name}"'
    return Response(text, mimetype="text/plain; charset=utf-8", headers=headers)


@bp.context_processor
def _source_labels() -> dict:
    return {"source_labels": SOURCE_LABELS}

#: A request to these pages may carry a zipped bundle; anything larger is refused before it is read.
MAX_UPLOAD = process_models.MAX_BUNDLE_BYTES + 1024 * 1024


@bp.url_value_preprocessor
def _limit_body(_endpoint, _values) -> None:
    # Runs before the app's before_request hooks (CSRF reads the form there), so the limit applies
    # before any of the body is read.
    request.max_content_length = MAX_UPLOAD


@bp.before_request
@login_required
def _modellers_only():
    if not modelling.may_manage(actor()):
        return error_page(403)
    return None


@bp.app_context_processor
def _nav() -> dict:
    return {"can_model": current_user.is_authenticated and modelling.may_manage(current_user.actor)}


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_err):
    detail = _("The upload is larger than %(size)s MB, the limit for model files. Nothing was stored.",
               size=MAX_UPLOAD // (1024 * 1024))
    if request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify(error=detail), 413
    return error_page(413, detail)


# --- deployed versions -----------------------------------------------------------------------------

@bp.get("/")
def index():
    with reading() as uow:
        versions = modelling.list_versions(uow, actor())
        drafts = model_drafts.list_drafts(uow, actor())
    processes: dict[str, list[dict]] = {}
    for version in versions:
        processes.setdefault(version["process_id"], []).append(version)
    return render_template("modelling/index.html", processes=processes, drafts=drafts,
                           max_mb=MAX_UPLOAD // (1024 * 1024), calendar_gaps=work_calendar.missing_years())


def _version_files(version_id: int) -> tuple[dict, dict[str, str]]:
    with reading() as uow:
        versions = {v["id"]: v for v in modelling.list_versions(uow, actor())}
        if version_id not in versions:
            raise NotFound(Code.VERSION_NOT_FOUND, version=version_id)
        return versions[version_id], modelling.export_version(uow, version_id)


@bp.get("/versions/<int:version_id>")
def version(version_id: int):
    info, files = _version_files(version_id)
    with reading() as uow:
        others = [v for v in modelling.list_versions(uow, actor(), info["process_id"]) if v["id"] != version_id]
        candidates = migration.migration_candidates(uow, actor(), version_id)
    bpmn = next((p for p in sorted(files) if p.endswith(".bpmn")), None)
    return render_template("modelling/version.html", version=info, files=sorted(files), bpmn=bpmn,
                           tables=read_tables(files), others=others, candidates=candidates,
                           forms=model_drafts.task_forms(files))


@bp.get("/versions/<int:version_id>/files/<path:path>")
def version_file(version_id: int, path: str):
    _info, files = _version_files(version_id)
    if path not in files:
        abort(404)
    return model_file_response(files[path], path.rsplit("/", 1)[-1], download=False)


@bp.get("/versions/<int:version_id>/export.zip")
def export(version_id: int):
    """The version's files as deployed, zipped (unzip into a folder and `complaints validate` it)."""
    info, files = _version_files(version_id)
    buffer = io.BytesIO()
    folder = f"{info['process_id']}-v{version_id}"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, content in sorted(files.items()):
            archive.writestr(f"{folder}/{path}", content)
    buffer.seek(0)
    return send_file(buffer, mimetype="application/zip", as_attachment=True, download_name=f"{folder}.zip")


@bp.get("/diff")
def diff():
    try:
        old_id, new_id = int(request.args["from"]), int(request.args["to"])
    except (KeyError, ValueError):
        abort(400)
    old_info, old_files = _version_files(old_id)
    new_info, new_files = _version_files(new_id)
    result = diff_bundles(old_files, new_files)
    bpmn = next((p for p in sorted(new_files) if p.endswith(".bpmn")), None)
    old_bpmn = bpmn if bpmn in old_files else next((p for p in sorted(old_files) if p.endswith(".bpmn")), None)
    return render_template("modelling/diff.html", old=old_info, new=new_info, diff=result, bpmn=bpmn,
                           old_bpmn=old_bpmn)


@bp.post("/versions/<int:version_id>/migrate")
def migrate(version_id: int):
    """Move one running complaint (`complaint_id`) or every one that can move (`all`) to this version."""
    if request.form.get("all"):
        moved, refused = migration.migrate_all(state().db, actor(), version_id)
        flash(_("%(moved)s complaints moved to version %(version)s; %(refused)s cannot move.",
                moved=len(moved), version=version_id, refused=len(refused)), "success" if moved else "info")
        return redirect(url_for(".version", version_id=version_id), 303)
    try:
        complaint_id = int(request.form.get("complaint_id", ""))
    except ValueError:
        abort(400)
    try:
        with writing() as uow:
            check = migration.migrate_complaint(uow, actor(), complaint_id, version_id)
    except migration.MigrationRefused as err:
        flash(_("The complaint cannot move to this version: %(reasons)s",
                reasons=" ".join(message(reason) for reason in err.reasons)), "error")
    else:
        flash(_("Complaint %(reference)s now runs on version %(version)s.", reference=check.reference,
                version=version_id), "success")
    return redirect(url_for(".version", version_id=version_id), 303)


# --- drafts and the modeller -------------------------------------------------------------------------

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
            draft = model_drafts.draft_from_upload(uow, actor(), upload)
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
        "text": _modeller_text(),
        "panel": _panel_text(),
    }
    page = render_template("modelling/editor.html", draft=draft, files=files, config=config,
                           tasks=model_drafts.task_forms(draft.files), max_mb=MAX_UPLOAD // (1024 * 1024))
    return page, {"Content-Security-Policy": security.EDITOR_CSP}


def _modeller_text() -> dict[str, str]:
    """The words the modeller's script shows, in the page language."""
    return {
        "Role": _("Role"), "Lane role": _("Lane role"), "Lane (who does it)": _("Lane (who does it)"),
        "(none)": _("(none)"), "Form and instructions": _("Form and instructions"),
        "Form (JSON Schema file)": _("Form (JSON Schema file)"), "UI schema file": _("UI schema file"),
        "Title (English)": _("Title (English)"), "Instructions (Chinese)": _("Instructions (Chinese)"),
        "Instructions (English)": _("Instructions (English)"), "Condition": _("Condition"),
        "Condition (Python expression)": _("Condition (Python expression)"),
        'e.g. category == "counterfeit"; leave empty on the default flow':
            _('e.g. category == "counterfeit"; leave empty on the default flow'),
        "Script (Python)": _("Script (Python)"), "Pre-script (Python)": _("Pre-script (Python)"),
        "Post-script (Python)": _("Post-script (Python)"), "Decision table": _("Decision table"),
        "Message variable": _("Message variable"), "Scripts and decisions": _("Scripts and decisions"),
        "Deadline": _("Deadline"), "What the timer means (sla)": _("What the timer means (sla)"),
        'Timer values are Python: quote durations, e.g. "PT30M", or name a policy variable such as sla_handover':
            _('Timer values are Python: quote durations, e.g. "PT30M", or name a policy variable such as '
              'sla_handover'),
        "(a plain timer)": _("(a plain timer)"), "warning: notify the holder": _("warning: notify the holder"),
        "deadline: penalty and escalation": _("deadline: penalty and escalation"),
        "The diagram could not be opened:": _("The diagram could not be opened:"),
        "The decision table could not be opened:": _("The decision table could not be opened:"),
        "Name of the new form (e.g. legal_review):": _("Name of the new form (e.g. legal_review):"),
        "Hint:": _("Hint:"), "The model cannot be deployed:": _("The model cannot be deployed:"),
        "The model is valid.": _("The model is valid."), "Some test cases failed:": _("Some test cases failed:"),
        "All test cases passed.": _("All test cases passed."), "Draft saved.": _("Draft saved."),
        "Validating…": _("Validating…"), "Running the test cases…": _("Running the test cases…"),
        "Deploy this draft? New complaints will start on it.":
            _("Deploy this draft? New complaints will start on it."),
        "Deploying…": _("Deploying…"),
    }


def _panel_text() -> dict[str, str]:
    """bpmn-js's and the properties panel's own words (palette, context pad, panel groups and fields) for the
    elements this engine runs, in the page language: the modeller's `translate` service reads them."""
    return {
        "General": _("General"),
        "Name": _("Name"),
        "ID": _("ID"),
        "Documentation": _("Documentation"),
        "Element documentation": _("Element documentation"),
        "Process documentation": _("Process documentation"),
        "Executable": _("Executable"),
        "Version tag": _("Version tag"),
        "Process ID": _("Process ID"),
        "Process name": _("Process name"),
        "Timer": _("Timer"),
        "Type": _("Type"),
        "Value": _("Value"),
        "Date": _("Date"),
        "Duration": _("Duration"),
        "Cycle": _("Cycle"),
        "Message": _("Message"),
        "Global message reference": _("Global message reference"),
        "Signal": _("Signal"),
        "Global signal reference": _("Global signal reference"),
        "Multi-instance": _("Multi-instance"),
        "Loop cardinality": _("Loop cardinality"),
        "Completion condition": _("Completion condition"),
        "Condition expression": _("Condition expression"),
        "Activate hand tool": _("Activate hand tool"),
        "Activate lasso tool": _("Activate lasso tool"),
        "Activate create/remove space tool": _("Activate create/remove space tool"),
        "Activate global connect tool": _("Activate global connect tool"),
        "Create start event": _("Create start event"),
        "Create end event": _("Create end event"),
        "Create intermediate/boundary event": _("Create intermediate/boundary event"),
        "Create gateway": _("Create gateway"),
        "Create task": _("Create task"),
        "Create expanded sub-process": _("Create expanded sub-process"),
        "Create data object reference": _("Create data object reference"),
        "Create data store reference": _("Create data store reference"),
        "Create pool/participant": _("Create pool/participant"),
        "Create group": _("Create group"),
        "Append task": _("Append task"),
        "Append end event": _("Append end event"),
        "Append gateway": _("Append gateway"),
        "Append intermediate/boundary event": _("Append intermediate/boundary event"),
        "Append receive task": _("Append receive task"),
        "Append message intermediate catch event": _("Append message intermediate catch event"),
        "Append timer intermediate catch event": _("Append timer intermediate catch event"),
        "Append signal intermediate catch event": _("Append signal intermediate catch event"),
        "Append conditional intermediate catch event": _("Append conditional intermediate catch event"),
        "Append compensation activity": _("Append compensation activity"),
        "Add text annotation": _("Add text annotation"),
        "Add lane above": _("Add lane above"),
        "Add lane below": _("Add lane below"),
        "Divide into two lanes": _("Divide into two lanes"),
        "Divide into three lanes": _("Divide into three lanes"),
        "Change element": _("Change element"),
        "Connect to other element": _("Connect to other element"),
        "Connect using association": _("Connect using association"),
        "Connect using data input association": _("Connect using data input association"),
        "Delete": _("Delete"),
    }


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
        problems=[p.as_dict() for p in check.problems], tests_run=check.tests_run, passed=check.passed,
        results=[{"file": r.file, "name": r.name, "passed": r.passed, "failures": r.failures, "path": r.path}
                 for r in check.results])


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
