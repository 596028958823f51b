"""Staff members as the web UI needs them: who is signed in, their display name and language."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from engine.complaints.services import MIN_PASSWORD, actor_of
from engine.db import UnitOfWork
from engine.errors import InvalidInput, NotFound
from engine.models import User
from engine.people.roles import Actor

#: The languages the staff UI is offered in (Simplified Chinese first: the default).
LOCALES = ("zh", "en")


@dataclass(frozen=True)
class StaffMember:
    """An active user: the acting identity plus what the page header shows."""

    actor: Actor
    display_name: str
    locale: str | None
    session_epoch: int


def load_member(uow: UnitOfWork, user_id: int) -> StaffMember | None:
    """The active user with this id, or None (unknown or deactivated: the session ends)."""
    user = uow.session.get(User, user_id)
    if user is None or not user.active:
        return None
    return StaffMember(actor=actor_of(user), display_name=user.display_name, locale=user.locale,
                       session_epoch=user.session_epoch)


def _user_named(uow: UnitOfWork, username: str) -> User:
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user {username!r}")
    return user


def set_password(uow: UnitOfWork, username: str, password: str) -> None:
    """Give the user a new password and end their sessions (someone may have known the old one)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput({"password": [f"at least {MIN_PASSWORD} characters"]})
    user = _user_named(uow, username)
    user.password_hash = generate_password_hash(password)
    user.session_epoch += 1
    uow.commit()


def set_active(uow: UnitOfWork, username: str, active: bool) -> None:
    """Let the user sign in again, or stop them (their sessions end at once; their history stays)."""
    user = _user_named(uow, username)
    user.active = active
    user.session_epoch += 1
    uow.commit()


def end_sessions(uow: UnitOfWork, user_id: int) -> None:
    """End every session of the user (their cookies name the old epoch and are refused from now on)."""
    user = uow.session.get(User, user_id)
    if user is not None:
        user.session_epoch += 1
        uow.commit()


def set_locale(uow: UnitOfWork, actor: Actor, locale: str) -> None:
    """Remember the user's language for every later page."""
    if locale not in LOCALES:
        raise InvalidInput({"locale": [f"one of {', '.join(LOCALES)}"]})
    user = uow.session.get(User, actor.id)
    user.locale = locale
    uow.commit()


def display_names(uow: UnitOfWork, usernames: set[str]) -> dict[str, str]:
    """username → display name for the given users (unknown names are left out)."""
    if not usernames:
        return {}
    rows = uow.session.execute(select(User.username, User.display_name).where(User.username.in_(usernames)))
    return dict(rows.all())
