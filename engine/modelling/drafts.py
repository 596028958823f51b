"""Model drafts: a process owner's edits to a process model, kept per user and process until deployed.

A draft starts as a copy of the deployed version's files (or of an upload), is edited file by file
(in the browser modeller, or by uploading files made in another modeller), checked — what the engine
cannot run (`engine.workflow.support`), `deploy.validate_bundle` and the model's own test cases — and
deployed through `modelling.deploy_models`, which refuses it unless all of that passes.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from engine import clock
from engine.db import UnitOfWork, use_case
from engine.errors import Code, InvalidInput, NotFound
from engine.modelling import deployment as modelling
from engine.modelling.cases import CaseResult
from engine.modelling.decision_tables import parsed
from engine.modelling.uploads import BUNDLE_SUFFIXES, MAX_FILES, Upload, overlay, upload_process
from engine.models import ModelDraft, ModelDraftFile, ModelFile, ProcessVersion
from engine.people.roles import Actor
from engine.workflow.deploy import ValidatedBundle, current_version, validate_bundle
from engine.workflow.model_forms import FORM_PROPERTY
from engine.workflow.model_xml import MAX_MODEL_FILE_BYTES, NS, ModelInvalid, ModelProblem, parse_xml
from engine.workflow.versions import from_bundle
from forms.errors import FieldError, error
from forms.schema import FormDefinition

PROCESS_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


@dataclass(frozen=True)
class DraftView:
    """A draft's files and where it came from."""

    process_id: str
    base_version_id: int | None
    files: dict[str, str]
    updated_at: datetime


@dataclass(frozen=True)
class DraftCheck:
    """The outcome of checking a draft: problems (it cannot be deployed) and its test cases' results."""

    problems: list[ModelProblem]
    results: list[CaseResult] = field(default_factory=list)
    content_hash: str | None = None
    tests_run: bool = False

    @property
    def passed(self) -> bool:
        return not self.problems and all(r.passed for r in self.results)


def _draft(uow: UnitOfWork, actor: Actor, process_id: str) -> ModelDraft | None:
    return uow.session.scalar(select(ModelDraft).where(ModelDraft.user_id == actor.id,
                                                       ModelDraft.process_id == process_id))


def _view(draft: ModelDraft) -> DraftView:
    return DraftView(process_id=draft.process_id, base_version_id=draft.base_version_id,
                     files={f.path: f.content for f in draft.files}, updated_at=draft.updated_at)


def _require(uow: UnitOfWork, actor: Actor, process_id: str) -> ModelDraft:
    draft = _draft(uow, actor, process_id)
    if draft is None:
        raise NotFound(Code.NO_DRAFT, process=process_id)
    return draft


def get_draft(uow: UnitOfWork, actor: Actor, process_id: str) -> DraftView | None:
    """The actor's draft of `process_id`, or None."""
    modelling.check_can_manage(actor)
    draft = _draft(uow, actor, process_id)
    return _view(draft) if draft is not None else None


def list_drafts(uow: UnitOfWork, actor: Actor) -> list[DraftView]:
    """The actor's drafts, most recently changed first."""
    modelling.check_can_manage(actor)
    drafts = uow.session.scalars(select(ModelDraft).where(ModelDraft.user_id == actor.id)
                                 .order_by(ModelDraft.updated_at.desc()))
    return [_view(d) for d in drafts]


@use_case
def open_draft(uow: UnitOfWork, actor: Actor, process_id: str) -> DraftView:
    """The actor's draft of `process_id`, started from the current version's files if there is none."""
    modelling.check_can_manage(actor)
    draft = _draft(uow, actor, process_id)
    if draft is None:
        version = current_version(uow.session, process_id)
        if version is None:
            raise NotFound(Code.NO_DEPLOYED_VERSION, process=process_id)
        files = {f.path: f.content for f in uow.session.scalars(
            select(ModelFile).where(ModelFile.version_id == version.id))}
        draft = _create(uow, actor, process_id, version.id, files)
    return _view(draft)


def _create(uow: UnitOfWork, actor: Actor, process_id: str, base: int | None, files: dict[str, str]) -> ModelDraft:
    now = clock.now()
    draft = ModelDraft(user_id=actor.id, process_id=process_id, base_version_id=base, created_at=now,
                       updated_at=now, files=[ModelDraftFile(path=p, content=c) for p, c in sorted(files.items())])
    uow.session.add(draft)
    uow.session.flush()
    return draft


def check_path(path: str) -> str:
    """A draft file path as stored: relative, inside the bundle, of a kind a bundle holds."""
    clean = posixpath.normpath(path.replace("\\", "/")) if path else ""
    if (not clean or clean.startswith(("/", "..")) or clean == "." or "\0" in clean or len(clean) > 255
            or not clean.endswith(BUNDLE_SUFFIXES)):
        raise InvalidInput.field("path", Code.BAD_MODEL_PATH)
    return clean


def _check_content(path: str, content: str) -> None:
    if len(content.encode("utf-8")) > MAX_MODEL_FILE_BYTES:
        raise InvalidInput({path: [error(Code.MODEL_FILE_TOO_LARGE, max=MAX_MODEL_FILE_BYTES)]})
    if path.endswith((".bpmn", ".dmn")):
        try:  # refuse unsafe or broken XML now: it is never stored
            parse_xml(content, path)
        except ModelInvalid as err:
            raise _refusal(err) from err


def _refusal(err: ModelInvalid) -> InvalidInput:
    """Model problems as field errors by file, each still naming its line, element, code and params."""
    errors: dict = {}
    for problem in err.problems:
        errors.setdefault(problem.file, []).append(FieldError(Code.MODEL_PROBLEM, problem.as_dict()))
    return InvalidInput(errors)


@use_case
def save_files(uow: UnitOfWork, actor: Actor, process_id: str, files: dict[str, str]) -> DraftView:
    """Add or replace files of the actor's draft. Unsafe XML, bad paths and oversized files are refused."""
    modelling.check_can_manage(actor)
    draft = _require(uow, actor, process_id)
    cleaned = {check_path(path): content for path, content in files.items()}
    for path, content in cleaned.items():
        _check_content(path, content)
    existing = {f.path: f for f in draft.files}
    if len(set(existing) | set(cleaned)) > MAX_FILES:
        raise InvalidInput.field("files", Code.TOO_MANY_FILES, max=MAX_FILES)
    for path, content in cleaned.items():
        if path in existing:
            existing[path].content = content
        else:
            draft.files.append(ModelDraftFile(path=path, content=content))
    draft.updated_at = clock.now()
    return _view(draft)


@use_case
def delete_file(uow: UnitOfWork, actor: Actor, process_id: str, path: str) -> DraftView:
    """Remove one file from the actor's draft."""
    modelling.check_can_manage(actor)
    draft = _require(uow, actor, process_id)
    found = next((f for f in draft.files if f.path == path), None)
    if found is None:
        raise NotFound(Code.DRAFT_FILE_NOT_FOUND, path=path)
    draft.files.remove(found)
    draft.updated_at = clock.now()
    return _view(draft)


@use_case
def discard(uow: UnitOfWork, actor: Actor, process_id: str) -> None:
    """Throw the actor's draft away (the deployed versions are untouched)."""
    modelling.check_can_manage(actor)
    draft = _require(uow, actor, process_id)
    uow.session.delete(draft)


def _refuse_unsafe(upload: Upload) -> None:
    errors = {}
    for path, content in upload.files.items():
        try:
            _check_content(path, content)
        except InvalidInput as err:
            errors.update(err.errors)
    if errors:
        raise InvalidInput(errors)


@use_case
def upload_into_draft(uow: UnitOfWork, actor: Actor, process_id: str, upload: Upload) -> DraftView:
    """Put uploaded files into the actor's draft of `process_id` (a zip replaces the whole draft).

    Unsafe or broken XML is refused here and never stored; what parses but cannot run is reported
    when the draft is checked.
    """
    modelling.check_can_manage(actor)
    _refuse_unsafe(upload)
    if _draft(uow, actor, process_id) is None:
        open_draft(uow, actor, process_id)
    draft = _require(uow, actor, process_id)
    _overlay(uow, draft, process_id, upload)
    return _view(draft)


def _overlay(uow: UnitOfWork, draft: ModelDraft, process_id: str, upload: Upload) -> None:
    """Lay the upload over the draft's files (`uploads.overlay`: the same rule as checking an upload)."""
    files = overlay({f.path: f.content for f in draft.files}, upload, process_id)
    existing = {f.path: f for f in draft.files}
    for path, item in existing.items():
        if path not in files:
            draft.files.remove(item)
    uow.session.flush()
    for path, content in sorted(files.items()):
        if path in existing:
            existing[path].content = content
        else:
            draft.files.append(ModelDraftFile(path=path, content=content))
    draft.origin = "upload"
    draft.updated_at = clock.now()


@use_case
def draft_from_upload(uow: UnitOfWork, actor: Actor, upload: Upload, main: str) -> DraftView:
    """Start the actor's draft of the process an uploaded BPMN file defines (replacing an older draft);
    of several, `main` (`Settings.process_id`) as on every path (`deploy.main_process`).

    Single files are laid over the current version's files when the process is deployed already.
    """
    modelling.check_can_manage(actor)
    _refuse_unsafe(upload)
    found = upload_process(upload, main)
    if not found:
        try:  # say which process is not executable (or what else is wrong), with its line
            validate_bundle(upload.files, main=main)
        except ModelInvalid as err:
            raise _refusal(err) from err
        raise InvalidInput.field("files", Code.NO_EXECUTABLE_PROCESS)
    process_id = found
    if not set(process_id) <= PROCESS_ID_CHARS or len(process_id) > 120:
        raise InvalidInput.field("files", Code.BAD_PROCESS_ID, process=process_id)
    old = _draft(uow, actor, process_id)
    if old is not None:
        uow.session.delete(old)
        uow.session.flush()
    current = current_version(uow.session, process_id)
    base_files = {} if current is None else {
        f.path: f.content for f in uow.session.scalars(select(ModelFile).where(ModelFile.version_id == current.id))}
    draft = _create(uow, actor, process_id, current.id if current else None, base_files)
    _overlay(uow, draft, process_id, upload)
    return _view(draft)


def _problems(files: dict[str, str], process_id: str) -> tuple[list[ModelProblem], ValidatedBundle | None]:
    """Validation problems (support checks included); the validated bundle when there are none."""
    try:
        return [], validate_bundle(files, process_id)
    except ModelInvalid as err:
        return err.problems, None


def check_draft(uow: UnitOfWork, actor: Actor, process_id: str, run_tests: bool = True) -> DraftCheck:
    """Validate the actor's draft and (when it is valid and `run_tests`) run its test cases."""
    modelling.check_can_manage(actor)
    files = _view(_require(uow, actor, process_id)).files
    problems, bundle = _problems(files, process_id)
    if bundle is None:
        return DraftCheck(problems=problems)
    if not run_tests:
        return DraftCheck(problems=[], content_hash=bundle.content_hash)
    try:
        report = modelling.check_bundle(files, process_id)
    except ModelInvalid as err:
        return DraftCheck(problems=err.problems)
    return DraftCheck(problems=[], results=report.results, content_hash=report.bundle.content_hash, tests_run=True)


@use_case
def deploy_draft(uow: UnitOfWork, actor: Actor, process_id: str) -> ProcessVersion:
    """Deploy the actor's draft as the version new complaints start on, then drop the draft.

    Raises ModelInvalid (with every problem) or modelling.ModelTestsFailed; the draft is kept then.
    """
    modelling.check_can_manage(actor)
    draft = _require(uow, actor, process_id)
    files = _view(draft).files
    problems, _bundle = _problems(files, process_id)
    if problems:
        raise ModelInvalid(problems)
    origin = draft.origin
    uow.session.delete(draft)
    # the same gate as every other path (tests required for a running process): modelling.deploy_models
    version, _report = modelling.deploy_models(uow, actor, files, source=origin, process_id=process_id)
    return version


@dataclass(frozen=True)
class TaskForm:
    """A user task of a draft and the form file it names (None: it gets the generic form)."""

    file: str
    task_id: str
    name: str
    form: str | None


def task_forms(files: dict[str, str]) -> list[TaskForm]:
    """The user and manual tasks of every BPMN file of a bundle, with their form files."""
    found = []
    for path, tree in parsed(files, ".bpmn"):
        for task in tree.iter(f"{{{NS['bpmn']}}}userTask", f"{{{NS['bpmn']}}}manualTask"):
            form = next((p.get("value") for p in task.iterfind(
                "bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", NS)
                if p.get("name") == FORM_PROPERTY), None)
            found.append(TaskForm(path, task.get("id") or "", task.get("name") or "", form))
    return found


def preview_task_form(uow: UnitOfWork, actor: Actor, process_id: str, task_id: str) -> FormDefinition:
    """The form a task of the actor's draft would show, its own or the generic one (free text plus
    the variables its outgoing conditions read). Raises ModelInvalid while the draft is not valid."""
    modelling.check_can_manage(actor)
    files = _view(_require(uow, actor, process_id)).files
    problems, bundle = _problems(files, process_id)
    if bundle is None:
        raise ModelInvalid(problems)
    version = from_bundle(bundle)
    if task_id not in version.tasks:
        raise NotFound(Code.DRAFT_TASK_NOT_FOUND, task=task_id)
    return version.task(task_id).form
