"""Staff members: creating them, signing in, who is signed in, their display name, language,
password and sessions."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from engine import clock
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, InvalidInput, NotFound
from engine.models import User
from engine.people import tokens
from engine.people.roles import DEPARTMENT_HEAD, DEPARTMENTS, ROLES, Actor
from forms.errors import FieldErrors, FormCode, error

#: The languages the staff UI is offered in (Simplified Chinese first: the default).
LOCALES = ("zh", "en")
MIN_PASSWORD = 8


@use_case
def add_user(uow: UnitOfWork, username: str, role: str, password: str, *, department: str | None = None,
             display_name: str | None = None, email: str | None = None, password_hash: str | None = None) -> int:
    """Create a user; department heads must name their department.

    `password_hash` may be given when the same password's hash is reused (demo users).
    """
    errors: FieldErrors = {}
    if not username or len(username) > 80 or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = [error(Code.USERNAME_FORMAT, max=80)]
    if role not in ROLES:
        errors["role"] = [error(Code.ONE_OF, options=", ".join(ROLES))]
    if role == DEPARTMENT_HEAD and department not in DEPARTMENTS:
        errors["department"] = [error(Code.DEPARTMENT_NEEDED, options=", ".join(DEPARTMENTS))]
    if department is not None and department not in DEPARTMENTS:
        errors["department"] = [error(Code.ONE_OF, options=", ".join(DEPARTMENTS))]
    if len(password) < MIN_PASSWORD:
        errors["password"] = [error(FormCode.TOO_SHORT, min=MIN_PASSWORD)]
    if errors:
        raise InvalidInput(errors)
    if uow.session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(Code.USER_EXISTS, user=username)
    user = User(username=username, role=role, department=department, display_name=display_name or username,
                email=email, password_hash=password_hash or generate_password_hash(password),
                created_at=clock.now())
    uow.session.add(user)
    uow.session.flush()
    return user.id


def authenticate(uow: UnitOfWork, username: str, password: str) -> Actor | None:
    """The actor for these credentials, or None (same answer for unknown user and wrong password)."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)  # equal time whether or not the user exists
        return None
    return actor_of(user) if check_password_hash(user.password_hash, password) else None


_DUMMY_HASH = generate_password_hash("not-a-password")


def actor_of(user: User) -> Actor:
    """The acting identity of a user row."""
    return Actor(id=user.id, username=user.username, role=user.role, department=user.department)


def actor_by_username(uow: UnitOfWork, username: str) -> Actor:
    """The acting identity of an active user (NotFound for unknown or deactivated users)."""
    user = uow.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(Code.NO_ACTIVE_USER, user=username)
    return actor_of(user)


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
        raise NotFound(Code.USER_NOT_FOUND, user=username)
    return user


@use_case
def set_password(uow: UnitOfWork, username: str, password: str) -> None:
    """Give the user a new password and end their sessions and API tokens (someone may have known the old
    one, and made a token with it)."""
    if len(password) < MIN_PASSWORD:
        raise InvalidInput.field("password", FormCode.TOO_SHORT, min=MIN_PASSWORD)
    user = _user_named(uow, username)
    user.password_hash = generate_password_hash(password)
    user.session_epoch += 1
    tokens.end_tokens(uow.session, user.id, "password changed")


@use_case
def set_active(uow: UnitOfWork, username: str, active: bool) -> None:
    """Let the user sign in again, or stop them (their sessions and API tokens end at once; their history
    stays; tokens ended stay ended when they come back)."""
    user = _user_named(uow, username)
    user.active = active
    user.session_epoch += 1
    if not active:
        tokens.end_tokens(uow.session, user.id, "deactivated")


@use_case
def end_sessions(uow: UnitOfWork, user_id: int) -> None:
    """End every session of the user (their cookies name the old epoch and are refused from now on)."""
    user = uow.session.get(User, user_id)
    if user is not None:
        user.session_epoch += 1


@use_case
def set_locale(uow: UnitOfWork, actor: Actor, locale: str) -> None:
    """Remember the user's language for every later page."""
    if locale not in LOCALES:
        raise InvalidInput.field("locale", Code.ONE_OF, options=", ".join(LOCALES))
    user = uow.session.get_one(User, actor.id)
    user.locale = locale


def display_names(uow: UnitOfWork, usernames: set[str]) -> dict[str, str]:
    """username → display name for the given users (unknown names are left out)."""
    if not usernames:
        return {}
    rows = uow.session.execute(select(User.username, User.display_name).where(User.username.in_(usernames)))
    return dict(rows.all())
