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
from engine.errors import Forbidden, InvalidInput
from engine.modelling import deployment as modelling
from engine.models import ModelFile, ProcessVersion
from engine.people.roles import Actor
from engine.workflow.deploy import FORM_SUFFIX, MODEL_SUFFIXES, current_version
from engine.workflow.model_xml import MAX_MODEL_FILE_BYTES, ModelInvalid

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


def check_can_manage(actor: Actor) -> None:
    if actor.role not in modelling.MODELLER_ROLES:
        raise Forbidden("only process owners and administrators manage process models")


def list_versions(uow: UnitOfWork, actor: Actor, process_id: str | None = None) -> list[dict]:
    """Every deployed version, newest first (process owners and administrators)."""
    check_can_manage(actor)
    return modelling.list_versions(uow, process_id)


def read_upload(files: dict[str, bytes]) -> Upload:
    """Turn uploaded files into text files by bundle path. A single .zip is a whole bundle.

    Raises InvalidInput for what cannot be read (bad zip, unsafe or duplicate paths, too large, not UTF-8).
    """
    if not files:
        raise InvalidInput({"files": ["upload at least one file"]})
    if len(files) == 1 and next(iter(files)).lower().endswith(".zip"):
        name, data = next(iter(files.items()))
        return _read_zip(name, data)
    texts: dict[str, str] = {}
    ignored: list[str] = []
    errors: dict[str, list[str]] = {}
    for name, data in files.items():
        path = _safe_path(name)
        if path is None:
            errors[name] = ["not a safe relative file name"]
        elif not path.endswith(BUNDLE_SUFFIXES):
            ignored.append(name)
        else:
            _decode(path, data, texts, errors)
    if errors:
        raise InvalidInput(errors)
    if not texts:
        raise InvalidInput({"files": ["no .bpmn, .dmn or .json file in the upload"]})
    return Upload(files=texts, bundle=False, ignored=ignored)


def _read_zip(name: str, data: bytes) -> Upload:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = [m for m in archive.infolist() if not m.is_dir()]
    except (zipfile.BadZipFile, ValueError) as err:
        raise InvalidInput({name: ["not a readable zip file"]}) from err
    if len(members) > MAX_FILES:
        raise InvalidInput({name: [f"more than {MAX_FILES} files"]})
    if sum(m.file_size for m in members) > MAX_BUNDLE_BYTES:
        raise InvalidInput({name: [f"more than {MAX_BUNDLE_BYTES} bytes unpacked"]})
    paths = [m.filename for m in members]
    # A zip of a folder holds "folder/...": the bundle is what is inside that folder.
    root = paths[0].split("/")[0] + "/" if paths and all("/" in p for p in paths) else ""
    if root and not all(p.startswith(root) for p in paths):
        root = ""
    texts: dict[str, str] = {}
    ignored: list[str] = []
    errors: dict[str, list[str]] = {}
    for member in members:
        path = _safe_path(member.filename[len(root):])
        if path is None:
            errors[member.filename] = ["not a safe relative file name"]
        elif not path.endswith(BUNDLE_SUFFIXES):
            ignored.append(member.filename)
        elif member.file_size > MAX_MODEL_FILE_BYTES:
            errors[member.filename] = [f"larger than {MAX_MODEL_FILE_BYTES} bytes"]
        else:
            try:
                content = archive.read(member)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as err:
                errors[member.filename] = [f"cannot be unpacked: {err}"]
                continue
            _decode(path, content, texts, errors)
    if errors:
        raise InvalidInput(errors)
    if not texts:
        raise InvalidInput({name: ["no .bpmn, .dmn or .json file in the zip"]})
    return Upload(files=texts, bundle=True, ignored=ignored)


def _safe_path(name: str) -> str | None:
    name = name.replace("\\", "/")
    if not name or name.startswith("/") or "\0" in name or len(name) > 255:
        return None
    path = posixpath.normpath(name)
    return None if path.startswith("..") or path == "." else path


def _decode(path: str, data: bytes, texts: dict[str, str], errors: dict[str, list[str]]) -> None:
    if path in texts:
        errors[path] = ["given twice"]
    elif len(data) > MAX_MODEL_FILE_BYTES:
        errors[path] = [f"larger than {MAX_MODEL_FILE_BYTES} bytes"]
    else:
        try:
            texts[path] = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            errors[path] = ["not UTF-8 text"]


def bundle_files(uow: UnitOfWork, upload: Upload, process_id: str) -> dict[str, str]:
    """The files to check: the whole upload, or the current version's files with the upload laid over."""
    if upload.bundle:
        return dict(upload.files)
    current = current_version(uow.session, process_id)
    if current is None:
        return dict(upload.files)
    files = {f.path: f.content for f in uow.session.scalars(
        select(ModelFile).where(ModelFile.version_id == current.id))}
    files.update(upload.files)
    return files


def check_upload(uow: UnitOfWork, actor: Actor, upload: Upload, process_id: str) -> CheckResult:
    """Validate an upload and run its model tests, as deploying would, without deploying."""
    check_can_manage(actor)
    files = bundle_files(uow, upload, process_id)
    try:
        report = modelling.check_bundle(files)
    except ModelInvalid as err:
        return CheckResult(valid=False, process_id=None, content_hash=None,
                           problems=[p.as_dict() for p in err.problems], test_results=[],
                           ignored=upload.ignored, files=sorted(files))
    return CheckResult(valid=report.passed, process_id=report.bundle.process_id,
                       content_hash=report.bundle.content_hash, problems=[],
                       test_results=[_case(r) for r in report.results], ignored=upload.ignored,
                       files=sorted(files))


def deploy_upload(uow: UnitOfWork, actor: Actor, upload: Upload, process_id: str) -> ProcessVersion:
    """Deploy an upload as the current version (ModelInvalid / ModelTestsFailed when it may not be)."""
    check_can_manage(actor)
    version, _report = modelling.deploy_models(uow, actor, bundle_files(uow, upload, process_id))
    return version


def _case(result) -> dict:
    return {"file": result.file, "name": result.name, "passed": result.passed,
            "failures": list(result.failures)}
