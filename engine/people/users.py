"""Staff members: creating them, signing in, who is signed in, their display name, language,
password and sessions."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Select, and_, bindparam, select
from werkzeug.security import check_password_hash, generate_password_hash

from engine import audit, clock
from engine.db import UnitOfWork, use_case
from engine.errors import Code, Conflict, InvalidInput, NotFound
from engine.models import AuditEvent, Deputy, User
from engine.people import departments, deputies, tokens
from engine.people.access import check_admin
from engine.people.roles import DEPARTMENT_HEAD, ROLES, Actor
from forms.errors import FieldErrors, FormCode, error
from forms.validate import text_errors

#: The languages the staff UI is offered in (Simplified Chinese first: the default).
LOCALES = ("zh", "en")
MIN_PASSWORD = 8
MAX_DISPLAY_NAME = 120
MAX_EMAIL = 200


@use_case
def add_user(uow: UnitOfWork, username: str, role: str, password: str, *, department: str | None = None,
             display_name: str | None = None, email: str | None = None, password_hash: str | None = None) -> int:
    """Create a user; department heads must name their department.

    `password_hash` may be given when the same password's hash is reused (demo users).
    """
    errors = _account_errors(uow, username, role, department, password)
    if errors:
        raise InvalidInput(errors)
    if _username_taken(uow, username):
        raise Conflict(Code.USER_EXISTS, user=username)
    user = User(username=username, role=role, department=department, display_name=display_name or username,
                email=email, password_hash=password_hash or generate_password_hash(password),
                created_at=clock.now())
    uow.session.add(user)
    uow.session.flush()
    return user.id


def _account_errors(uow: UnitOfWork, username: str, role: str, department: str | None, password: str) -> FieldErrors:
    errors = _role_errors(uow, role, department)
    if not username or len(username) > 80 or not username.replace("_", "").replace(".", "").isalnum():
        errors["username"] = [error(Code.USERNAME_FORMAT, max=80)]
    if len(password) < MIN_PASSWORD:
        errors["password"] = [error(FormCode.TOO_SHORT, min=MIN_PASSWORD)]
    return errors


def _username_taken(uow: UnitOfWork, username: str) -> bool:
    return uow.session.scalar(select(User.id).where(User.username == username)) is not None


def authenticate(uow: UnitOfWork, username: str, password: str) -> Actor | None:
    """The actor for these credentials, or None (same answer for unknown user and wrong password)."""
    user = uow.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        check_password_hash(DUMMY_HASH, password)  # equal time whether or not the user exists
        return None
    return actor_of(user) if check_password_hash(user.password_hash, password) else None


#: What a sign-in without a user checks its password against, at the cost of a real user's hash (werkzeug's
#: default method; a test keeps them equal). Written out, not hashed at import: that took 0.1 s of CPU in every
#: `complaints` command and worker that imports this module.
DUMMY_HASH = ("scrypt:32768:8:1$8NttQhTbMBi3oUAI$005e61b60e4624b6985660000900fb6e057534b306b43f6e6275d06cbec121aeb"
              "b1a596269a2a4d77a464952833012d9230db8ed3624332c322b9f85f8841222")


class _Identity(Protocol):
    """What an acting identity is made of: a user row, or a row of `load_member`'s statement."""

    id: int
    username: str
    role: str
    department: str | None


def actor_of(user: _Identity, acting_for: tuple[str, ...] = ()) -> Actor:
    """The acting identity of a user row; `acting_for`: the departments they stand in for as a running deputy."""
    return Actor(id=user.id, username=user.username, role=user.role, department=user.department,
                 acting_for=acting_for)


def actor_by_username(uow: UnitOfWork, username: str) -> Actor:
    """The acting identity of an active user (NotFound for unknown or deactivated users), with the departments
    they stand in for as a running deputy (责任代理人), as a signed-in session has them: the command line acts
    through this."""
    user = uow.session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(Code.NO_ACTIVE_USER, user=username)
    return actor_of(user, deputies.acting_for(uow.session, user.id, clock.now()))


@dataclass(frozen=True)
class StaffMember:
    """An active user: the acting identity plus what the page header shows."""

    actor: Actor
    display_name: str
    locale: str | None
    session_epoch: int


def load_member(uow: UnitOfWork, user_id: int) -> StaffMember | None:
    """The active user with this id, or None (unknown or deactivated: the session ends).

    Every request of a signed-in user asks this: one statement, the user's row with the departments they stand in
    for as a running deputy joined to it (as `deputies.acting_for` reads them)."""
    rows = uow.session.execute(_member_query(), {"user_id": user_id, "now": clock.now()}).all()
    if not rows or not rows[0].active:
        return None
    user = rows[0]
    actor = actor_of(user, tuple(sorted({row.acting for row in rows if row.acting is not None})))
    return StaffMember(actor=actor, display_name=user.display_name, locale=user.locale,
                       session_epoch=user.session_epoch)


@functools.cache
def _member_query() -> Select:
    """`load_member`'s statement, built once per process (its building cost more than running it)."""
    return (select(User.id, User.username, User.role, User.department, User.display_name, User.locale, User.active,
                   User.session_epoch, Deputy.department.label("acting"))
            .outerjoin(Deputy, and_(Deputy.deputy_id == User.id, *deputies.running(bindparam("now"))))
            .where(User.id == bindparam("user_id")))


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


# --- administration (the admin role, in the browser): every change audited ---------------------------------


@dataclass(frozen=True)
class UserRow:
    """A user as the administrator's list shows it."""

    id: int
    username: str
    display_name: str
    role: str
    department: str | None
    email: str | None
    active: bool
    created_at: datetime


def list_users(uow: UnitOfWork, actor: Actor) -> list[UserRow]:
    """Every user, active first, by role and name."""
    check_admin(actor)
    users = uow.session.scalars(select(User).order_by(User.active.desc(), User.role, User.username))
    return [_row(u) for u in users]


def _row(u: User) -> UserRow:
    return UserRow(id=u.id, username=u.username, display_name=u.display_name, role=u.role,
                   department=u.department, email=u.email, active=u.active, created_at=u.created_at)


def get_user(uow: UnitOfWork, actor: Actor, user_id: int) -> UserRow:
    """One user for the edit form."""
    check_admin(actor)
    return _row(uow.session.get(User, user_id) or _no_user(user_id))


def _no_user(user_id: int):
    raise NotFound(Code.USER_NOT_FOUND, user=user_id)


def _role_errors(uow: UnitOfWork, role: str, department: str | None, keep: str | None = None) -> FieldErrors:
    """Why the role and department cannot be held: an unknown role, a department head without a department,
    or a department not in the table or deactivated (unless it is `keep`, the one the user is in already)."""
    errors: FieldErrors = {}
    if role not in ROLES:
        errors["role"] = [error(Code.ONE_OF, options=", ".join(ROLES))]
    if role == DEPARTMENT_HEAD and department is None:
        errors["department"] = [error(Code.DEPARTMENT_NEEDED,
                                      options=", ".join(departments.codes(uow.session, active_only=True)))]
    elif department is not None:
        errors.update(departments.choice_errors(uow.session, department, keep=keep))
    return errors


def _profile_errors(uow: UnitOfWork, role: str, department: str | None, display_name: str, email: str | None,
                    keep: str | None = None) -> FieldErrors:
    errors = _role_errors(uow, role, department, keep)
    if problems := text_errors(display_name.strip(), MAX_DISPLAY_NAME):
        errors["display_name"] = problems
    if email and (problems := text_errors(email, MAX_EMAIL)):
        errors["email"] = problems
    elif email and ("@" not in email.strip("@") or any(c.isspace() or ord(c) < 32 for c in email)):
        errors["email"] = [error(FormCode.BAD_FORMAT, format="email")]
    return errors


@use_case
def create_user(uow: UnitOfWork, actor: Actor, username: str, role: str, password: str, *,
                department: str | None = None, display_name: str | None = None, email: str | None = None) -> int:
    """An administrator adds a user (checked as `add_user`, plus the display name and e-mail)."""
    check_admin(actor)
    # every problem at once, the taken name included, so that one correction is enough
    errors = _account_errors(uow, username, role, department, password) | _profile_errors(
        uow, role, department, display_name or username, email)
    if "username" not in errors and _username_taken(uow, username):
        errors["username"] = [error(Code.USER_EXISTS, user=username)]
    if errors:
        raise InvalidInput(errors)
    user_id = add_user(uow, username, role, password, department=department, display_name=display_name,
                       email=email or None)
    audit.record(uow.session, None, actor, "user_added", data={
        "user": username, "role": role, "department": department})
    return user_id


@use_case
def update_user(uow: UnitOfWork, actor: Actor, user_id: int, *, role: str, department: str | None,
                display_name: str, email: str | None) -> None:
    """An administrator changes a user's role, department, display name or e-mail. A changed role or
    department ends the user's sessions (what they may see changed under them)."""
    check_admin(actor)
    user = uow.session.get(User, user_id) or _no_user(user_id)
    department = department or None
    errors = _profile_errors(uow, role, department, display_name, email, keep=user.department)
    if errors:
        raise InvalidInput(errors)
    changes = {name: [old, new] for name, old, new in (
        ("role", user.role, role), ("department", user.department, department),
        ("display_name", user.display_name, display_name.strip()), ("email", user.email, email or None))
        if old != new}
    if not changes:
        return
    if "role" in changes or "department" in changes:
        user.session_epoch += 1
    user.role, user.department = role, department
    user.display_name, user.email = display_name.strip(), email or None
    audit.record(uow.session, None, actor, "user_changed", data={"user": user.username, "changes": changes})


@use_case
def set_user_active(uow: UnitOfWork, actor: Actor, user_id: int, active: bool) -> None:
    """An administrator deactivates a user (or lets them back in); never themselves."""
    check_admin(actor)
    user = uow.session.get(User, user_id) or _no_user(user_id)
    if user.id == actor.id and not active:
        raise Conflict(Code.DEACTIVATE_SELF)
    if user.active == active:
        return
    set_active(uow, user.username, active)
    audit.record(uow.session, None, actor, "user_activated" if active else "user_deactivated",
                 data={"user": user.username})


@use_case
def reset_password(uow: UnitOfWork, actor: Actor, user_id: int, password: str) -> None:
    """An administrator gives a user a new password (the user's sessions and API tokens end)."""
    check_admin(actor)
    user = uow.session.get(User, user_id) or _no_user(user_id)
    set_password(uow, user.username, password)
    audit.record(uow.session, None, actor, "password_reset", data={"user": user.username})


@use_case
def change_own_password(uow: UnitOfWork, actor: Actor, current: str, new: str) -> int:
    """Everyone changes their own password, giving the current one. Every other session and API token
    ends; returns the new session epoch, so that the session making the change can continue."""
    user = uow.session.get_one(User, actor.id)
    if not check_password_hash(user.password_hash, current):
        raise InvalidInput.field("current", Code.WRONG_PASSWORD)
    set_password(uow, user.username, new)
    audit.record(uow.session, None, actor, "password_changed", data={"user": user.username})
    return user.session_epoch


#: The audit events of administration (no complaint): users, passwords, deputies, API tokens, the working
#: calendar (engine.complaints.holidays), the mailbox's messages set aside (engine.complaints.mail_incidents).
ADMIN_EVENTS = ("user_added", "user_changed", "user_deactivated", "user_activated", "password_reset",
                "password_changed", "deputy_appointed", "deputy_ended", "api_token_created", "api_token_revoked",
                "api_tokens_ended", "calendar_day_set", "calendar_day_removed", "calendar_year_imported",
                "working_hours_set", "mail_incident_retried", "mail_incident_dismissed", "department_added",
                "department_renamed", "department_deactivated", "department_activated")
#: What an event's data names it about: a user, a deputy, for the working calendar a day, a year, a department,
#: for the mailbox a message (its Message-ID).
_SUBJECTS = ("user", "deputy", "day", "year", "department", "message")


@dataclass(frozen=True)
class AdminEvent:
    """One administration event as the administrator's record lists it (names are display names)."""

    at: datetime
    kind: str
    by: str
    #: The user the event is about (added, changed, appointed deputy…), when it names one.
    user: str | None


def admin_events(uow: UnitOfWork, actor: Actor, *, limit: int = 200) -> list[AdminEvent]:
    """The latest administration events, newest first (administrators)."""
    check_admin(actor)
    rows = list(uow.session.scalars(select(AuditEvent).where(
        AuditEvent.complaint_id.is_(None), AuditEvent.kind.in_(ADMIN_EVENTS))
        .order_by(AuditEvent.id.desc()).limit(limit)))
    subjects = [next((data[k] for k in _SUBJECTS if data.get(k)), None) for data in (r.data or {} for r in rows)]
    names = display_names(uow, {r.actor_name for r in rows} | {str(u) for u in subjects if u})
    events = [AdminEvent(at=r.at, kind=r.kind, by=names.get(r.actor_name, r.actor_name),
                         user=names.get(str(subject), str(subject)) if subject else None)
              for r, subject in zip(rows, subjects, strict=True)]
    return events
