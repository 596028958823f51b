"""Request-time access to the app's settings, database and signed-in actor, plus template globals."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, request
from flask_login import current_user, login_required

from engine.config import Settings
from engine.db import Database, UnitOfWork
from engine.people.access import may_decide_deferrals, may_record, may_see_complaints
from engine.people.roles import Actor

#: A longer `next` is not one of this site's own addresses.
MAX_NEXT = 2000
#: The highest `page=` a list accepts (as the API's `page`); beyond it the offset would overflow the database.
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database
    #: Where reports and search read (`REPORTS_DATABASE_URL`, a read replica); None: `db`.
    reports_db: Database | None = None


def staff_blueprint(name: str, import_name: str) -> Blueprint:
    """A blueprint of staff pages: every one of them needs a signed-in user (else the sign-in page)."""
    blueprint = Blueprint(name, import_name)
    blueprint.before_request(login_required(lambda: None))
    return blueprint


def state() -> AppState:
    return current_app.extensions["complaints"]


def actor() -> Actor:
    """The signed-in user as the engine's acting person."""
    return current_user.actor


def reading() -> UnitOfWork:
    """A read-only unit of work."""
    return UnitOfWork(state().db, write=False)


def reading_reports() -> UnitOfWork:
    """A read-only unit of work for reports and search: on the read replica when one is configured, so
    that long report queries never compete with the staff's writes on the primary."""
    return UnitOfWork(state().reports_db or state().db, write=False)


def writing() -> UnitOfWork:
    """A unit of work for one service call that changes something."""
    return UnitOfWork(state().db)


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict:
        signed_in = current_user.is_authenticated
        return {"can_record": signed_in and may_record(current_user.actor),
                "can_search": signed_in and may_see_complaints(current_user.actor),
                "can_decide_deferrals": signed_in and may_decide_deferrals(current_user.actor)}


def safe_next(target: str | None, default: str) -> str:
    """Only paths of this site are followed after a form (no open redirect to another site).

    Browsers drop tabs and newlines from URLs and read a backslash as a slash, so "/", a tab, "/evil.example"
    or "/", a backslash, "evil.example" would leave the site: any control character, a backslash, or a second
    leading slash refuses the target, as does anything with a scheme or host.
    """
    if not target or len(target) > MAX_NEXT or not target.startswith("/"):
        return default
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return default
    return target


def page_number() -> int:
    """The list page asked for by `?page=` (default 1); anything but a number from 1 to MAX_PAGE is a 400."""
    raw = request.args.get("page")
    if raw is None or raw == "":
        return 1
    if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(MAX_PAGE)) or not 1 <= int(raw) <= MAX_PAGE:
        abort(400)
    return int(raw)
