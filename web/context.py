"""Request-time access to the app's settings, database and signed-in actor, plus template globals."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, current_app, g, has_request_context, request
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


class _RequestReading:
    """`with reading() as uow` inside a request: the request's one read unit of work (`reading`)."""

    def __init__(self, uow: UnitOfWork):
        self.uow = uow

    def __enter__(self) -> UnitOfWork:
        return self.uow

    def __exit__(self, kind, *_exc) -> None:
        if kind is not None:  # a failed statement leaves the transaction unusable: the next read starts anew
            self.uow.session.close()


def reading() -> _RequestReading | UnitOfWork:
    """A read-only unit of work: in a request, the same one for all its reads (the signed-in user, the
    navigation's counts, the page), ended before a write (`writing`) and when the request ends.

    Each unit of work is a pool checkout, BEGIN and ROLLBACK, and a page read in 3-4 of them
    (docs/PERFORMANCE.md, "1,000,000 complaints"). Ending it before a write keeps what is read after the write
    from an older snapshot (SQLite keeps one per read transaction) or the session's identity map.
    """
    if not has_request_context():
        return UnitOfWork(state().db, write=False)
    if "reading" not in g:
        g.reading = UnitOfWork(state().db, write=False).__enter__()
    return _RequestReading(g.reading)


def reading_reports() -> _RequestReading | UnitOfWork:
    """A read-only unit of work for reports and search: on the read replica when one is configured, so
    that long report queries never compete with the staff's writes on the primary; else the request's
    (`reading`)."""
    reports_db = state().reports_db
    return UnitOfWork(reports_db, write=False) if reports_db is not None else reading()


def writing() -> UnitOfWork:
    """A unit of work for one service call that changes something (its own transaction, one commit)."""
    _end_reading()
    return UnitOfWork(state().db)


def _end_reading(_error: BaseException | None = None) -> None:
    # The session stays the request's: a read after this starts a new transaction on it (Session.close).
    if has_request_context() and "reading" in g:
        g.reading.session.close()


def init_app(app: Flask) -> None:
    app.teardown_request(_end_reading)

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
