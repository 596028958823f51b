"""The staff web UI's app factory: Flask, every blueprint and the API, imported only by whoever builds the app
(`web.create_app`), not by the `complaints` command or the workers that import other `web` modules."""
from __future__ import annotations

from flask import Flask

from engine.bootstrap import connect
from engine.config import Settings, load_settings
from engine.db import Database, open_database
from web import (
    admin,
    api,
    auth,
    classification,
    complaints,
    context,
    customer,
    customer_records,
    deferrals,
    departments,
    desk,
    errors,
    i18n,
    inbox,
    incidents,
    modelling,
    present,
    public,
    remedies,
    report_review,
    reports,
    search,
    security,
    tasks,
    work_calendar,
)
from web.extensions import babel, csrf, login_manager
from web.secret import secret_key

#: Upper bound of one request body: several evidence files of the allowed size plus the form itself.
FILES_PER_REQUEST = 10


def create_app(settings: Settings | None = None, db: Database | None = None) -> Flask:
    """Build the app on `settings` (default: the environment) and `db` (default: connect to its database)."""
    settings = settings or load_settings()
    db = db or connect(settings)
    # Named after the package, whose folder holds templates/, static/ and translations/.
    app = Flask("web", instance_path=str(settings.instance_dir))
    app.config.update(
        SECRET_KEY=secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.secure_cookies,
        MAX_CONTENT_LENGTH=settings.evidence_max_bytes * FILES_PER_REQUEST + 1024 * 1024,
        # A form may stay open for a long call with the customer: the token lives as long as the session.
        WTF_CSRF_TIME_LIMIT=None,
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT_LOCALE,
        BABEL_DEFAULT_TIMEZONE=settings.display_timezone,
        BABEL_TRANSLATION_DIRECTORIES="translations",
        I18N_MARK_MISSING=False,
    )
    reports_db = open_database(settings.reports_database_url, read_only=True) if settings.reports_database_url else None
    app.extensions["complaints"] = context.AppState(settings=settings, db=db, reports_db=reports_db)
    security.init_app(app, settings)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    errors.init_app(app)
    context.init_app(app)
    present.init_app(app)
    desk.init_app(app)
    for blueprint in (auth.bp, tasks.bp, desk.bp, admin.bp, departments.bp, work_calendar.bp, complaints.bp, search.bp,
                      deferrals.bp, inbox.bp, incidents.bp):
        app.register_blueprint(blueprint)
    api.init_app(app)
    app.register_blueprint(reports.bp)
    app.register_blueprint(customer.bp)
    app.register_blueprint(customer_records.bp)
    app.register_blueprint(remedies.bp)
    app.register_blueprint(report_review.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(classification.bp)
    app.register_blueprint(modelling.bp)
    security.throttle_sign_in(app)
    public.throttle(app)
    return app
