"""Evidence files: what may be uploaded (decided by content, not by the name), where files are kept,
and who may read them. Files are stored under random names in `instance_dir/evidence` and never deleted."""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filetype
from sqlalchemy import select

from engine import audit, clock
from engine.complaints.services import check_can_view
from engine.config import Settings
from engine.db import UnitOfWork
from engine.errors import InvalidInput, NotFound
from engine.models import Complaint, Evidence
from engine.people.access import check_can_contribute
from engine.people.roles import Actor

#: Allowed kinds and the media type each is served as (always as a download).
MEDIA_TYPES = {
    "jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
    "pdf": "application/pdf", "mp3": "audio/mpeg", "m4a": "audio/mp4", "wav": "audio/wav",
    "mp4": "video/mp4", "txt": "text/plain",
}
#: The error messages an upload can get (entry points translate them).
TOO_LARGE = "the file is larger than {limit} bytes"
NOT_ALLOWED = "this type of file is not accepted"
EMPTY = "the file is empty"
UNKNOWN = "no such uploaded file"

#: What `store_uploads` names a file (`secrets.token_hex(16)`); other posted ids are not looked up at all.
_ID = re.compile(r"[0-9a-f]{32}")
_TEXT_ENCODINGS = ("utf-8", "gb18030")
_CONTROL = set(range(0, 32)) - {9, 10, 12, 13}


@dataclass(frozen=True)
class Upload:
    """A file as received: the name the user's computer gave it and its content."""

    filename: str
    content: bytes


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
    problems: list[str] = []
    for upload in uploads:
        if not upload.content:
            problems.append(f"{upload.filename}: {EMPTY}")
        elif len(upload.content) > max_bytes:
            problems.append(f"{upload.filename}: {TOO_LARGE.format(limit=max_bytes)}")
        else:
            kind = sniff(upload.content)
            if kind is None:
                problems.append(f"{upload.filename}: {NOT_ALLOWED}")
            kinds.append(kind or "")
    if problems:
        raise InvalidInput({"evidence": problems})
    return kinds


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
            raise NotFound(f"complaint {complaint_id} does not exist")
        check_can_contribute(actor, complaint)
    kinds = check_uploads(uploads, settings.evidence_max_bytes)
    folder = evidence_folder(settings)
    ids = []
    for upload, kind in zip(uploads, kinds, strict=True):
        evidence_id = secrets.token_hex(16)
        _write_file(folder / evidence_id, upload.content)
        row = Evidence(
            id=evidence_id, complaint_id=complaint_id, uploaded_by_id=actor.id,
            original_name=_safe_name(upload.filename, kind), kind=kind, media_type=MEDIA_TYPES[kind],
            size=len(upload.content), sha256=hashlib.sha256(upload.content).hexdigest(),
            uploaded_at=clock.now(),
        )
        uow.session.add(row)
        if complaint is not None:
            _record_added(uow, actor, complaint.id, row)
        ids.append(evidence_id)
    uow.commit()
    return ids


def pending(uow: UnitOfWork, actor: Actor, ids: list[str]) -> list[Evidence]:
    """The actor's uploads that wait for an intake, in the given order; unknown ids are field errors."""
    wellformed = {i for i in ids if _ID.fullmatch(i)}  # e.g. no NUL, which PostgreSQL refuses with an error
    rows = {r.id: r for r in uow.session.scalars(select(Evidence).where(
        Evidence.id.in_(wellformed), Evidence.uploaded_by_id == actor.id, Evidence.complaint_id.is_(None)))}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise InvalidInput({"evidence": [f"{i}: {UNKNOWN}" for i in missing]})
    return [rows[i] for i in ids]


def attach_pending(uow: UnitOfWork, actor: Actor, complaint_id: int, ids: list[str]) -> None:
    """Make the actor's pending uploads evidence of the complaint they just recorded."""
    for row in pending(uow, actor, ids):
        row.complaint_id = complaint_id
        _record_added(uow, actor, complaint_id, row)
    uow.commit()


def of_complaint(uow: UnitOfWork, complaint_id: int) -> list[Evidence]:
    """A complaint's evidence, oldest first."""
    return list(uow.session.scalars(select(Evidence).where(Evidence.complaint_id == complaint_id)
                                    .order_by(Evidence.uploaded_at, Evidence.id)))


def open_file(uow: UnitOfWork, settings: Settings, actor: Actor, evidence_id: str) -> tuple[Evidence, Path]:
    """An evidence row and its file, for those who may see the complaint (the uploader, while pending)."""
    row = uow.session.get(Evidence, evidence_id)
    if row is None:
        raise NotFound("no such evidence")
    if row.complaint_id is None:
        if row.uploaded_by_id != actor.id:
            raise NotFound("no such evidence")
    else:
        check_can_view(actor, uow.session.get(Complaint, row.complaint_id))
    return row, evidence_folder(settings) / row.id


def evidence_folder(settings: Settings) -> Path:
    folder = settings.instance_dir / "evidence"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _write_file(path: Path, content: bytes) -> None:
    # Written whole to a temporary name first, so a crash never leaves half a file under the real name.
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _safe_name(filename: str, kind: str) -> str:
    name = Path(filename.replace("\\", "/")).name.strip() or f"evidence.{kind}"
    return name[-255:]


def _record_added(uow: UnitOfWork, actor: Actor, complaint_id: int, row: Evidence) -> None:
    audit.record(uow.session, complaint_id, actor, "evidence_added",
                 data={"evidence_id": row.id, "name": row.original_name, "kind": row.kind, "size": row.size})
