"""The REST API under /api/v1: JSON over the engine's use cases, authenticated with personal API
tokens (no cookies, so no CSRF token), described at /api/v1/openapi.json."""
from __future__ import annotations

from flask import Flask

# Importing the operation modules declares their routes on the blueprint.
from web.api import (  # noqa: F401
    complaints,
    deferrals,
    incidents,
    openapi,
    process_models,
    reports,
    tasks,
    tokens_page,
)
from web.api.core import bp
from web.extensions import csrf


def init_app(app: Flask) -> None:
    """Register the API and the API tokens page on the app."""
    csrf.exempt(bp)
    app.register_blueprint(bp)
    app.register_blueprint(tokens_page.bp)
