"""Uploaded process models: reading an upload into a bundle, then checking or deploying it through
`engine.modelling.deployment` (validation plus the model's own test cases).

An upload is either a whole bundle (a zip of the process folder) or single files, which replace or add
to the files of the current version. Only process owners and administrators may check or deploy.
"""
from __future__ import annotations

import io
import posixpath
import zipfile
from dataclasses import dataclass, field

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.errors import Code, InvalidInput
from engine.modelling import deployment as modelling
from engine.models import ModelFile, ProcessVersion
from engine.people.roles import Actor
from engine.workflow.deploy import FORM_SUFFIX, MODEL_SUFFIXES, current_version, executable_processes, main_process
from engine.workflow.model_xml import MAX_MODEL_FILE_BYTES, ModelInvalid, parse_xml
from forms.errors import FieldErrors, error

MAX_FILES = 200
MAX_BUNDLE_BYTES = 20 * 1024 * 1024
BUNDLE_SUFFIXES = (*MODEL_SUFFIXES, FORM_SUFFIX)


@dataclass(frozen=True)
class Upload:
    """Uploaded files by bundle path; `bundle` when they came as one zip (the whole process folder)."""

    files: dict[str, str]
    bundle: bool
    #: Names in the upload that are not model, form or test files: reported back, never silently dropped.
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CheckResult:
    """What checking an upload found: model problems, and the outcome of the model's own test cases."""

    valid: bool
    process_id: str | None
    content_hash: str | None
    problems: list[dict]
    test_results: list[dict]
    ignored: list[str]
    files: list[str]


def read_upload(files: dict[str, bytes]) -> Upload:
    """Turn uploaded files into text files by bundle path. A single .zip is a whole bundle.

    Raises InvalidInput for what cannot be read (bad zip, unsafe or duplicate paths, too large, not UTF-8).
    """
    if not files:
        raise InvalidInput.field("files", Code.NO_FILES)
    if len(files) == 1 and next(iter(files)).lower().endswith(".zip"):
        name, data = next(iter(files.items()))
        return _read_zip(name, data)
    texts: dict[str, str] = {}
    ignored: list[str] = []
    errors: FieldErrors = {}
    for name, data in files.items():
        path = _safe_path(name)
        if path is None:
            errors[name] = [error(Code.UNSAFE_FILE_NAME)]
        elif not path.endswith(BUNDLE_SUFFIXES):
            ignored.append(name)
        else:
            _decode(path, data, texts, errors)
    if errors:
        raise InvalidInput(errors)
    if not texts:
        raise InvalidInput.field("files", Code.NO_MODEL_FILES)
    return Upload(files=texts, bundle=False, ignored=ignored)


def _read_zip(name: str, data: bytes) -> Upload:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError) as err:
        raise InvalidInput.field(name, Code.NOT_A_ZIP) from err
    if len(members) > MAX_FILES:
        raise InvalidInput.field(name, Code.TOO_MANY_FILES, max=MAX_FILES)
    if sum(m.file_size for m in members) > MAX_BUNDLE_BYTES:
        raise InvalidInput.field(name, Code.UNPACKED_TOO_LARGE, max=MAX_BUNDLE_BYTES)
    paths = [m.filename for m in members]
    # A zip of a folder holds "folder/...": the bundle is what is inside that folder.
    root = paths[0].split("/")[0] + "/" if paths and all("/" in p for p in paths) else ""
    if root and not all(p.startswith(root) for p in paths):
        root = ""
    texts: dict[str, str] = {}
    ignored: list[str] = []
    errors: FieldErrors = {}
    for member in members:
        path = _safe_path(member.filename[len(root):])
        if path is None:
            errors[member.filename] = [error(Code.UNSAFE_FILE_NAME)]
        elif not path.endswith(BUNDLE_SUFFIXES):
            ignored.append(member.filename)
        elif member.file_size > MAX_MODEL_FILE_BYTES:
            errors[member.filename] = [error(Code.MODEL_FILE_TOO_LARGE, max=MAX_MODEL_FILE_BYTES)]
        else:
            try:
                content = archive.read(member)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError):
                errors[member.filename] = [error(Code.CANNOT_UNPACK)]
                continue
            _decode(path, content, texts, errors)
    if errors:
        raise InvalidInput(errors)
    if not texts:
        raise InvalidInput.field(name, Code.NO_MODEL_FILES)
    return Upload(files=texts, bundle=True, ignored=ignored)


def _safe_path(name: str) -> str | None:
    name = name.replace("\\", "/")
    if not name or name.startswith("/") or "\0" in name or len(name) > 255:
        return None
    path = posixpath.normpath(name)
    return None if path.startswith("..") or path == "." else path


def _decode(path: str, data: bytes, texts: dict[str, str], errors: FieldErrors) -> None:
    if path in texts:
        errors[path] = [error(Code.DUPLICATE_FILE)]
    elif len(data) > MAX_MODEL_FILE_BYTES:
        errors[path] = [error(Code.MODEL_FILE_TOO_LARGE, max=MAX_MODEL_FILE_BYTES)]
    else:
        try:
            texts[path] = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors[path] = [error(Code.NOT_UTF8)]


def executable_process(path: str, text: str) -> str | None:
    """The id of the first executable process of a BPMN text (None if it has none or does not parse)."""
    try:
        tree = parse_xml(text, path)
    except ModelInvalid:
        return None
    return next(iter(executable_processes({path: tree})), None)


def upload_process(upload: Upload, main: str) -> str | None:
    """The process an upload defines: chosen like deploying chooses it (`deploy.main_process`, preferring
    `main`, `Settings.process_id`), never by file order; None when no file of the upload has an executable
    process."""
    trees = {}
    for path, text in upload.files.items():
        if path.endswith(MODEL_SUFFIXES):
            try:
                trees[path] = parse_xml(text, path)
            except ModelInvalid:
                continue
    if not executable_processes(trees):
        return None
    process_id, _problems = main_process(trees, main)
    return process_id or next(iter(executable_processes(trees)))


def overlay(base: dict[str, str], upload: Upload, process_id: str) -> dict[str, str]:
    """The bundle an upload becomes: a zip replaces everything; single files replace or add to `base`, and
    a BPMN file defining `process_id` replaces the base's file of that process even under another name,
    so that the bundle never holds the process twice."""
    if upload.bundle:
        return dict(upload.files)
    defines = any(executable_process(p, t) == process_id for p, t in upload.files.items() if p.endswith(".bpmn"))
    files = {path: text for path, text in base.items()
             if not (defines and path.endswith(".bpmn") and path not in upload.files
                     and executable_process(path, text) == process_id)}
    files.update(upload.files)
    return files


def bundle_files(uow: UnitOfWork, upload: Upload, process_id: str) -> dict[str, str]:
    """The files to check: the whole upload, or the current version's files with the upload laid over."""
    if upload.bundle:
        return dict(upload.files)
    current = current_version(uow.session, process_id)
    if current is None:
        return dict(upload.files)
    files = {f.path: f.content for f in uow.session.scalars(
        select(ModelFile).where(ModelFile.version_id == current.id))}
    return overlay(files, upload, process_id)


def _process_of(uow: UnitOfWork, upload: Upload, process_id: str) -> str | None:
    """The process the checked bundle must run: the one single files are laid over; a zip's own."""
    if upload.bundle or current_version(uow.session, process_id) is None:
        return None
    return process_id


def check_upload(uow: UnitOfWork, actor: Actor, upload: Upload, process_id: str, main: str) -> CheckResult:
    """Validate an upload and run its model tests, as deploying would, without deploying. Single files are
    laid over the current version of `process_id`; a bundle's main process is chosen preferring `main`
    (`Settings.process_id`), as on every path."""
    modelling.check_can_manage(actor)
    files = bundle_files(uow, upload, process_id)
    try:
        report = modelling.check_bundle(files, _process_of(uow, upload, process_id), main)
    except ModelInvalid as err:
        return CheckResult(valid=False, process_id=None, content_hash=None,
                           problems=[p.as_dict() for p in err.problems], test_results=[],
                           ignored=upload.ignored, files=sorted(files))
    return CheckResult(valid=report.passed, process_id=report.bundle.process_id,
                       content_hash=report.bundle.content_hash, problems=[],
                       test_results=[_case(r) for r in report.results], ignored=upload.ignored,
                       files=sorted(files))


def deploy_upload(uow: UnitOfWork, actor: Actor, upload: Upload, process_id: str, main: str) -> ProcessVersion:
    """Deploy an upload as the current version (ModelInvalid / ModelTestsFailed when it may not be); the
    arguments as for `check_upload`."""
    modelling.check_can_manage(actor)
    version, _report = modelling.deploy_models(uow, actor, bundle_files(uow, upload, process_id), source="api",
                                               process_id=_process_of(uow, upload, process_id), main=main)
    return version


def _case(result) -> dict:
    return {"file": result.file, "name": result.name, "passed": result.passed,
            "failures": [f.as_dict() for f in result.failures]}
