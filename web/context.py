"""Request-time access to the app's settings, database and signed-in actor, plus template globals."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from flask_login import current_user

from engine.config import Settings
from engine.db import Database, UnitOfWork
from engine.people.access import may_decide_deferrals, may_record
from engine.people.roles import Actor


@dataclass(frozen=True)
class AppState:
    settings: Settings
    db: Database


def state() -> AppState:
    return current_app.extensions["complaints"]


def actor() -> Actor:
    """The signed-in user as the engine's acting person."""
    return current_user.actor


def reading() -> UnitOfWork:
    """A read-only unit of work."""
    return UnitOfWork(state().db, write=False)


def writing() -> UnitOfWork:
    """A unit of work for one service call that changes something."""
    return UnitOfWork(state().db)


def init_app(app: Flask) -> None:
    @app.context_processor
    def _globals() -> dict:
        signed_in = current_user.is_authenticated
        return {"can_record": signed_in and may_record(current_user.actor),
                "can_decide_deferrals": signed_in and may_decide_deferrals(current_user.actor)}


def safe_next(target: str | None, default: str) -> str:
    """Only paths of this site are followed after a form (no open redirect to another site)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
