"""Deployed versions: the list, a version with its diagram, decision tables and forms, its files, the zip
export, the differences between two versions, and moving running complaints to a version."""
from __future__ import annotations

import io
import zipfile

from flask import (
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _

from engine.errors import Code, NotFound
from engine.modelling import deployment as modelling
from engine.modelling import drafts as model_drafts
from engine.modelling import migration
from engine.modelling.decision_tables import read_tables
from engine.modelling.diff import diff_bundles
from engine.models.base import MAX_ROW_ID
from web import labels, work_calendar
from web.context import actor, reading, state, writing
from web.i18n import message
from web.modelling.blueprint import MAX_UPLOAD, bp, model_file_response


@bp.get("/")
def index():
    with reading() as uow:
        versions = modelling.list_versions(uow, actor())
        drafts = model_drafts.list_drafts(uow, actor())
    processes: dict[str, list[dict]] = {}
    for version in versions:
        processes.setdefault(version["process_id"], []).append(version)
    # Running complaints a newer version could take (each version page lists which can move).
    older = [v for v in versions if not v["current"] and v["running"]]
    current = next((v for v in versions if v["current"] and older and v["process_id"] == older[0]["process_id"]),
                   None)
    return render_template("modelling/index.html", processes=processes, drafts=drafts,
                           older_running=sum(v["running"] for v in older), migrate_to=current,
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


@bp.app_template_global()
def change_detail(detail: str) -> str:
    """One line of a model change (`engine.modelling.diff`: "attribute: before → after" or a sentence) with its
    attribute named in the page language; the values are the model's own."""
    if detail in labels.MODEL_CHANGE_TEXTS:
        return str(labels.MODEL_CHANGE_TEXTS[detail])
    attribute, colon, rest = detail.partition(": ")
    if colon and attribute in labels.MODEL_ATTRIBUTES:
        return _("%(attribute)s: %(change)s", attribute=labels.MODEL_ATTRIBUTES[attribute], change=rest)
    return detail


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
    if not 0 <= complaint_id <= MAX_ROW_ID:  # no complaint has it, and the database would fail on it
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
