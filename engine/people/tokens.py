"""Personal API tokens: created for a user, shown once, stored as a SHA-256 hash, revocable.

A token acts as its user: the API checks roles exactly as the staff pages do, in the service layer.
It may be limited to reading (the API refuses everything but GET with it), expires after a chosen number
of days (DEFAULT_DAYS unless told; at most MAX_DAYS), and ends with its user's password change or
deactivation (`end_tokens`): a token is never worth more than the password that made it.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from engine import audit, clock
from engine.db import Database, UnitOfWork, use_case
from engine.errors import Code, Forbidden, InvalidInput, NotFound
from engine.models import ApiToken, User
from engine.people import deputies
from engine.people.roles import ADMIN, SYSTEM, Actor
from forms.errors import FieldErrors, error
from forms.validate import text_errors

#: Every token starts with this, so a leaked one is recognisable (e.g. by secret scanners).
TOKEN_PREFIX = "cpt_"  # noqa: S105 - a marker, not a secret
MAX_NAME = 80
#: `last_used_at` is written at most this often per token: a busy client must not turn reads into writes.
LAST_USED_PRECISION = timedelta(minutes=1)
#: How long a new token lasts unless told otherwise, and the longest it may last.
DEFAULT_DAYS = 90
MAX_DAYS = 366


@dataclass(frozen=True)
class TokenInfo:
    """A token as lists show it (never the secret)."""

    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime | None
    read_only: bool

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.expired

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= clock.now()


@dataclass(frozen=True)
class Grant:
    """What a valid token allows: act as this user, only reading when `read_only`."""

    actor: Actor
    read_only: bool


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@use_case
def create_token(uow: UnitOfWork, actor: Actor, username: str, name: str = "", *, days: int | None = None,
                 read_only: bool = False) -> tuple[int, str]:
    """Create a token for `username` (oneself, or anyone for an administrator); return (id, token).

    It expires after `days` (default DEFAULT_DAYS, 1 to MAX_DAYS); a `read_only` token may only read.
    The token is returned only here: what is stored cannot give it back.
    """
    session = uow.session
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(Code.NO_ACTIVE_USER, user=username)
    if actor.role != ADMIN and not actor.is_system and actor.id != user.id:
        raise Forbidden(Code.OWN_TOKENS_ONLY)
    name = (name or "").strip() or "API token"
    errors: FieldErrors = {}
    if problems := text_errors(name, MAX_NAME):
        errors["name"] = problems
    days = DEFAULT_DAYS if days is None else days
    if not 1 <= days <= MAX_DAYS:
        errors["days"] = [error(Code.CHOOSE_BETWEEN, min=1, max=MAX_DAYS)]
    if errors:
        raise InvalidInput(errors)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    row = ApiToken(user_id=user.id, name=name, token_hash=_hash(token), prefix=token[:10],
                   created_at=now, expires_at=now + timedelta(days=days), read_only=read_only)
    session.add(row)
    session.flush()
    audit.record(session, None, actor, "api_token_created", data={
        "token_id": row.id, "user": username, "name": name, "days": days, "read_only": read_only})
    return row.id, token


def list_tokens(uow: UnitOfWork, actor: Actor, username: str | None = None) -> list[TokenInfo]:
    """The tokens of `username` (default: the actor's own; an administrator may list anyone's, or all)."""
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if actor.role == ADMIN or actor.is_system:
        if username:
            query = query.where(User.username == username)
    elif username not in (None, actor.username):
        raise Forbidden(Code.OWN_TOKENS_ONLY)
    else:
        query = query.where(ApiToken.user_id == actor.id)
    return [TokenInfo(id=t.id, username=u, name=t.name, prefix=t.prefix, created_at=t.created_at,
                      last_used_at=t.last_used_at, revoked_at=t.revoked_at, expires_at=t.expires_at,
                      read_only=t.read_only)
            for t, u in uow.session.execute(query).all()]


@use_case
def revoke_token(uow: UnitOfWork, actor: Actor, token_id: int) -> None:
    """Revoke a token (one's own, or anyone's for an administrator). Revoking twice changes nothing."""
    row = uow.session.get(ApiToken, token_id)
    own = row is not None and row.user_id == actor.id
    if row is None or not (own or actor.role == ADMIN or actor.is_system):
        raise NotFound(Code.TOKEN_NOT_FOUND, token=token_id)  # someone else's token is not revealed
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        audit.record(uow.session, None, actor, "api_token_revoked", data={"token_id": row.id})


def end_tokens(session: Session, user_id: int, why: str) -> int:
    """Revoke every live token of the user (their password changed, or they were deactivated); how many.

    Called inside the caller's unit of work, which commits.
    """
    now = clock.now()
    result = session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                             .values(revoked_at=now))
    ended = cast(CursorResult, result).rowcount  # an UPDATE's result is a cursor result
    if ended:
        audit.record(session, None, SYSTEM, "api_tokens_ended", data={"user_id": user_id, "count": ended,
                                                                      "why": why})
    return ended


def authenticate(db: Database, token: str) -> Actor | None:
    """The active user a valid token belongs to, or None (see `grant`)."""
    found = grant(db, token)
    return found.actor if found else None


def grant(db: Database, token: str) -> Grant | None:
    """What a valid token allows: its user (active), and whether only reading; None for a token that is
    unknown, revoked or expired. Records when it was last used.

    Reads in a read-only unit of work; the usage time is written (at most once a minute) in its own.
    """
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    now = clock.now()
    with UnitOfWork(db, write=False) as uow:
        found = uow.session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                                    .where(ApiToken.token_hash == _hash(token))).first()
        # A deputy (责任代理人) works the department's tasks through the API too.
        acting_for = deputies.acting_for(uow.session, found[1].id, now) if found else ()
    if found is None:
        return None
    row, user = found
    if row.revoked_at is not None or not user.active or (row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_PRECISION:
        with UnitOfWork(db) as uow:
            uow.session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
            uow.commit()
    return Grant(Actor(id=user.id, username=user.username, role=user.role, department=user.department,
                       acting_for=acting_for), read_only=row.read_only)
