"""The staff web UI: a Flask app built by `create_app` on the engine's services.

The package itself imports nothing: the `complaints` command, the timer worker and the mailbox worker import
modules of `web` (web.cli, web.mail, web.messages, web.server) without Flask, the blueprints and the API,
which only the app needs (web/app.py, imported when an app is built; docs/ARCHITECTURE.md).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from engine.config import Settings
    from engine.db import Database


def create_app(settings: Settings | None = None, db: Database | None = None) -> Flask:
    """Build the app on `settings` (default: the environment) and `db` (default: connect to its database)."""
    from web.app import create_app as build

    return build(settings, db)
