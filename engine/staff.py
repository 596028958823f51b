"""Staff members as the web UI needs them: who is signed in, their display name and language."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.errors import InvalidInput
from engine.models import User
from engine.roles import Actor
from engine.services import actor_of

#: The languages the staff UI is offered in (Simplified Chinese first: the default).
LOCALES = ("zh", "en")


@dataclass(frozen=True)
class StaffMember:
    """An active user: the acting identity plus what the page header shows."""

    actor: Actor
    display_name: str
    locale: str | None


def load_member(uow: UnitOfWork, user_id: int) -> StaffMember | None:
    """The active user with this id, or None (unknown or deactivated: the session ends)."""
    user = uow.session.get(User, user_id)
    if user is None or not user.active:
        return None
    return StaffMember(actor=actor_of(user), display_name=user.display_name, locale=user.locale)


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
