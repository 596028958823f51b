"""Evidence files: what may be uploaded (decided by content, not by the name), where files are kept,
and who may read them. Files are stored under random names in `instance_dir/evidence`; evidence of a
complaint is never deleted, uploads whose intake form was never recorded are (`clean_pending`).

A file is written under a temporary name inside the use case's transaction and moved to its real name
only after the transaction commits (removed if it rolls back): no row names a missing file, and no
file outlives a request that failed."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import filetype
from sqlalchemy import delete, func, select

from engine import audit, clock
from engine.config import Settings
from engine.db import Database, UnitOfWork, use_case
from engine.errors import Code, InvalidInput, NotFound
from engine.models import Complaint, Evidence
from engine.people.access import check_can_contribute, check_can_view
from engine.people.roles import Actor
from forms.errors import FieldError, error

#: Allowed kinds and the media type each is served as (always as a download).
MEDIA_TYPES = {
    "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
    "pdf": "application/pdf", "mp3": "audio/mpeg", "m4a": "audio/mp4", "wav": "audio/wav",
    "mp4": "video/mp4", "txt": "text/plain",
}
#: What an upload is named (`Upload.id`, `secrets.token_hex(16)`); other posted ids are not looked up at all.
_ID = re.compile(r"[0-9a-f]{32}")
_TEXT_ENCODINGS = ("utf-8", "gb18030")
_CONTROL = set(range(0, 32)) - {9, 10, 12, 13}
_HEADER_UNSAFE = set('"\\;')
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the user's computer gave it and its content, and the id it is kept
    under (chosen on receipt, so that a form can name the file before it is stored)."""

    filename: str
    content: bytes
    id: str = field(default_factory=lambda: secrets.token_hex(16))


@dataclass(frozen=True)
class Files:
    """Files sent with a form, and the settings that say where they are kept and how large they may be."""

    uploads: list[Upload]
    settings: Settings


def sniff(content: bytes) -> str | None:
    """The allowed kind of this content (`jpg`, `pdf`, `txt`, …), or None when it is not one we accept."""
    kind = filetype.guess(content[:8192])
    if kind is not None:
        return kind.extension if kind.extension in MEDIA_TYPES else None
    return "txt" if _is_text(content) else None


def _is_text(content: bytes) -> bool:
    # Plain text (chat logs, call notes) in UTF-8 or the Chinese GB18030; binary data has control bytes.
    if any(byte in _CONTROL for byte in content[:65536]):
        return False
    for encoding in _TEXT_ENCODINGS:
        try:
            content.decode(encoding)
            return True
        except UnicodeDecodeError:
            continue
    return False


def check_uploads(uploads: list[Upload], max_bytes: int) -> list[str]:
    """The kind of each upload; raises InvalidInput (field `evidence`) naming each refused file."""
    kinds: list[str] = []
    problems: list[FieldError] = []
    for upload in uploads:
        if not upload.content:
            problems.append(error(Code.FILE_EMPTY, file=upload.filename))
        elif len(upload.content) > max_bytes:
            problems.append(error(Code.FILE_TOO_LARGE, file=upload.filename, max=max_bytes))
        else:
            kind = sniff(upload.content)
            if kind is None:
                problems.append(error(Code.FILE_TYPE_NOT_ACCEPTED, file=upload.filename))
            kinds.append(kind or "")
    if problems:
        raise InvalidInput({"evidence": problems})
    return kinds


@use_case
def store_uploads(uow: UnitOfWork, settings: Settings, actor: Actor, uploads: list[Upload],
                  complaint_id: int | None = None) -> list[str]:
    """Check, store and record uploaded files; return their ids.

    With `complaint_id` the files become the complaint's evidence at once (the actor must be allowed to
    contribute to it); without, they wait for the intake that attaches them (`attach_pending`).
    """
    complaint = None
    if complaint_id is not None:
        complaint = uow.session.get(Complaint, complaint_id)
        if complaint is None:
            raise NotFound(Code.COMPLAINT_NOT_FOUND, complaint=complaint_id)
        check_can_contribute(actor, complaint)
    return add_files(uow, settings, actor, uploads, complaint_id)


def add_files(uow: UnitOfWork, settings: Settings, actor: Actor, uploads: list[Upload],
              complaint_id: int | None) -> list[str]:
    """Check the uploads and add them in the caller's unit of work (the caller checked who may add them);
    the files take their real names when it commits."""
    kinds = check_uploads(uploads, settings.evidence_max_bytes)
    if complaint_id is None:
        _check_pending_room(uow, settings, actor, sum(len(u.content) for u in uploads))
    folder = evidence_folder(settings)
    ids = []
    for upload, kind in zip(uploads, kinds, strict=True):
        if not _ID.fullmatch(upload.id):
            raise InvalidInput.field("evidence", Code.UPLOAD_GONE, file=upload.filename)
        evidence_id = upload.id
        _write_file(uow, folder / evidence_id, upload.content)
        row = Evidence(
            id=evidence_id, complaint_id=complaint_id, uploaded_by_id=actor.id,
            original_name=_safe_name(upload.filename, kind), kind=kind, media_type=MEDIA_TYPES[kind],
            size=len(upload.content), sha256=hashlib.sha256(upload.content).hexdigest(),
            uploaded_at=clock.now(),
        )
        uow.session.add(row)
        if complaint_id is not None:
            _record_added(uow, actor, complaint_id, row)
        ids.append(evidence_id)
    return ids


def pending(uow: UnitOfWork, actor: Actor, ids: list[str]) -> list[Evidence]:
    """The actor's uploads that wait for an intake, in the given order; unknown ids are field errors."""
    wellformed = {i for i in ids if _ID.fullmatch(i)}  # e.g. no NUL, which PostgreSQL refuses with an error
    rows = {r.id: r for r in uow.session.scalars(select(Evidence).where(
        Evidence.id.in_(wellformed), Evidence.uploaded_by_id == actor.id, Evidence.complaint_id.is_(None)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise InvalidInput({"evidence": [error(Code.UPLOAD_GONE, file=i) for i in missing]})
    return [rows[i] for i in ids]


def attach_pending(uow: UnitOfWork, actor: Actor, complaint_id: int, ids: list[str]) -> None:
    """Make the actor's pending uploads evidence of the complaint they are recording (in the caller's
    unit of work)."""
    for row in pending(uow, actor, ids):
        row.complaint_id = complaint_id
        _record_added(uow, actor, complaint_id, row)


def of_complaint(uow: UnitOfWork, complaint_id: int) -> list[Evidence]:
    """A complaint's evidence, oldest first."""
    return list(uow.session.scalars(select(Evidence).where(Evidence.complaint_id == complaint_id)
                                    .order_by(Evidence.uploaded_at, Evidence.id)))


def open_file(uow: UnitOfWork, settings: Settings, actor: Actor, evidence_id: str) -> tuple[Evidence, Path]:
    """An evidence row and its file, for those who may see the complaint (the uploader, while pending)."""
    row = uow.session.get(Evidence, evidence_id)
    if row is None:
        raise NotFound(Code.EVIDENCE_NOT_FOUND)
    if row.complaint_id is None:
        if row.uploaded_by_id != actor.id:
            raise NotFound(Code.EVIDENCE_NOT_FOUND)
    else:
        check_can_view(actor, uow.session.get_one(Complaint, row.complaint_id))
    return row, evidence_folder(settings) / row.id


def evidence_folder(settings: Settings) -> Path:
    folder = settings.instance_dir / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_file(uow: UnitOfWork, path: Path, content: bytes) -> None:
    # Written whole to a temporary name (a crash never leaves half a file under the real name), which
    # becomes the real name once the rows naming it are committed, and disappears if they are not.
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    temp = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    uow.after_commit(lambda: os.replace(temp, path))
    uow.after_rollback(lambda: temp.unlink(missing_ok=True))


def _safe_name(filename: str, kind: str) -> str:
    name = _header_safe(Path(filename.replace("\\", "/")).name).strip() or f"evidence.{kind}"
    return name[-255:]


def download_name(row: Evidence) -> str:
    """The name a download offers: the stored name without what a header cannot carry (files stored before
    names were cleaned on upload may still hold such characters)."""
    return _header_safe(row.original_name).strip() or f"evidence.{row.kind}"


def _header_safe(name: str) -> str:
    # A Content-Disposition header cannot carry control characters (CR/LF would split it) and quotes or
    # semicolons would end the file name early.
    return "".join(ch for ch in name if ch.isprintable() and ch not in _HEADER_UNSAFE)


def _record_added(uow: UnitOfWork, actor: Actor, complaint_id: int, row: Evidence) -> None:
    audit.record(uow.session, complaint_id, actor, "evidence_added",
                 data={"evidence_id": row.id, "name": row.original_name, "kind": row.kind, "size": row.size})


# --- uploads that never became evidence ------------------------------------------------------------------

#: How often the timer worker looks for expired pending uploads (`clean_pending_if_due`).
CLEAN_EVERY_SECONDS = 600
_last_clean: dict[str, float] = {}


def pending_bytes(uow: UnitOfWork, user_id: int | None) -> int:
    """How many bytes of the user's uploads wait for an intake."""
    return uow.session.scalar(select(func.coalesce(func.sum(Evidence.size), 0)).where(
        Evidence.complaint_id.is_(None), Evidence.uploaded_by_id == user_id)) or 0


def _check_pending_room(uow: UnitOfWork, settings: Settings, actor: Actor, adding: int) -> None:
    # An intake form that keeps failing validation must not fill the disk: each user has a budget for
    # files not yet part of a complaint (they are deleted after PENDING_EVIDENCE_HOURS anyway).
    if pending_bytes(uow, actor.id) + adding > settings.pending_evidence_max_bytes:
        raise InvalidInput.field("evidence", Code.PENDING_UPLOADS_FULL, max=settings.pending_evidence_max_bytes)


@dataclass(frozen=True)
class Cleaned:
    """What one clean-up removed."""

    files: int
    bytes: int


def clean_pending(db: Database, settings: Settings) -> Cleaned:
    """Delete uploads that waited for an intake longer than `pending_evidence_hours` (the form they came
    with was never recorded), rows and files. Rows attached meanwhile are left alone."""
    cutoff = clock.now() - timedelta(hours=settings.pending_evidence_hours)
    with UnitOfWork(db, write=False) as uow:
        expired = uow.session.execute(select(Evidence.id, Evidence.size).where(
            Evidence.complaint_id.is_(None), Evidence.uploaded_at < cutoff)).all()
    folder = evidence_folder(settings)
    files = size = 0
    for evidence_id, length in expired:
        with UnitOfWork(db) as uow:
            # Only if still pending: an intake may have attached it since it was read.
            gone = uow.session.execute(delete(Evidence).where(
                Evidence.id == evidence_id, Evidence.complaint_id.is_(None))).rowcount  # type: ignore[attr-defined]
            uow.commit()
        if gone:
            (folder / evidence_id).unlink(missing_ok=True)
            files, size = files + 1, size + length
    if files:
        log.info("deleted %s pending upload(s), %s bytes, older than %s hours", files, size,
                 settings.pending_evidence_hours)
    _remove_stale_temporaries(folder, settings.pending_evidence_hours)
    return Cleaned(files=files, bytes=size)


def _remove_stale_temporaries(folder: Path, hours: int) -> None:
    # A process killed between writing an upload and its transaction's end leaves the temporary file
    # (`_write_file`) that neither hook moved nor removed. File times are the real clock's.
    cutoff = time.time() - hours * 3600
    for temp in folder.glob(".upload-*"):
        try:
            if temp.stat().st_mtime < cutoff:
                temp.unlink(missing_ok=True)
        except FileNotFoundError:  # moved into place or removed meanwhile
            continue


def clean_pending_if_due(db: Database, settings: Settings) -> Cleaned | None:
    """`clean_pending` at most every CLEAN_EVERY_SECONDS per process (the timer worker calls this each pass)."""
    now = time.monotonic()
    if now - _last_clean.get(settings.database_url, -CLEAN_EVERY_SECONDS) < CLEAN_EVERY_SECONDS:
        return None
    _last_clean[settings.database_url] = now
    return clean_pending(db, settings)
