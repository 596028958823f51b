"""Idempotency keys: a request repeated with the same key acts once and gets the first result again.

The record is written in the same transaction as the action it guards, so an action and its record
exist together or not at all; the unique (user, scope, key) constraint settles concurrent repeats.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.errors import Code, InvalidInput
from engine.models import IdempotencyRecord

MAX_KEY = 200
KEY_FIELD = "Idempotency-Key"


@dataclass(frozen=True)
class Key:
    """One client's key for one kind of request, with the fingerprint of what it asked for."""

    user_id: int
    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Stored:
    """What the first request with a key produced."""

    status_code: int
    result: dict[str, Any]


def fingerprint(payload: Any) -> str:
    """SHA-256 of the request's data in a canonical form (key order and spacing do not matter)."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def make_key(user_id: int, scope: str, key: str, payload: Any) -> Key:
    """Check a client's key and bind it to the request's data. Raises InvalidInput for an unusable key."""
    if not key or len(key) > MAX_KEY or not key.isprintable():
        raise InvalidInput.field(KEY_FIELD, Code.IDEMPOTENCY_KEY_FORMAT, max=MAX_KEY)
    return Key(user_id=user_id, scope=scope, key=key, fingerprint=fingerprint(payload))


def recall(session: Session, key: Key) -> Stored | None:
    """The stored result of an earlier request with this key, or None when it is new.

    Raises InvalidInput when the key was used for a different request: it must not silently return the
    result of something else, nor act a second time.
    """
    row = session.scalar(select(IdempotencyRecord).where(
        IdempotencyRecord.user_id == key.user_id, IdempotencyRecord.scope == key.scope,
        IdempotencyRecord.key == key.key))
    if row is None:
        return None
    if row.fingerprint != key.fingerprint:
        raise InvalidInput.field(KEY_FIELD, Code.IDEMPOTENCY_KEY_REUSED)
    return Stored(status_code=row.status_code, result=row.result)


def remember(session: Session, key: Key, status_code: int, result: dict[str, Any]) -> None:
    """Store the result of the request made with `key` (in the caller's transaction)."""
    session.add(IdempotencyRecord(user_id=key.user_id, scope=key.scope, key=key.key,
                                  fingerprint=key.fingerprint, status_code=status_code, result=result,
                                  created_at=clock.now()))
