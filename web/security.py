"""The web's own defences: security headers on every response, and sign-in throttling.

Headers: the pages load nothing from other sites and run no inline script or style, so the
Content-Security-Policy allows only this site's files; no page may be framed; nothing is sniffed;
a dynamic answer (pages, exports, API) is never kept by a browser or proxy cache, because almost all
of them show customers' data. A view that needs a stricter policy (model XML served as data) sets its
own header, which is kept.

Throttling (Flask-Limiter): only *failed* sign-ins count, per account and address (a few tries a
minute, so the real user is never locked out for long) and per address across accounts (password
spraying). The counts are shared by every worker: in the app's database by default (web/db_limits.py), or
in Redis etc. through `RATELIMIT_STORAGE_URI` (`memory://`: each process its own).
See docs/RELIABILITY.md, "Security".
"""
from __future__ import annotations

from flask import Flask, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from engine.config import Settings
from engine.models.base import MAX_ROW_ID
from web import db_limits

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    # bpmn-js draws its palette icons from data: URIs in its own style sheet.
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
#: The modeller's page: the same, except that style *attributes* may be inline. The bundled editors
#: (properties panel, popup-menu icons, dmn-js) write `style="…"` into their markup; a style attribute
#: cannot run script, and img-src still keeps any url() in it on this site. Scripts stay strict.
EDITOR_CSP = CSP + "; style-src-attr 'unsafe-inline'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Failed sign-ins allowed for one account from one address, and from one address across accounts.
ACCOUNT_LIMIT = "5 per minute"
ADDRESS_LIMIT = "30 per 10 minutes"

#: The sign-in view the limits apply to.
SIGN_IN_ENDPOINT = "auth.login"


class RowIdConverter(IntegerConverter):
    """`<int:…>` in every route: a number from 0 to MAX_ROW_ID (Werkzeug's own takes any size)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask, settings: Settings) -> None:
    """Install the headers, the sign-in throttle, ids in URLs the database can hold (call before any route is
    added) and (behind a reverse proxy) the client's real address."""
    app.url_map.converters["int"] = RowIdConverter
    if settings.proxy_hops:
        # The proxy's X-Forwarded-For names the client: without this every user would share one address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.ratelimit_storage_uri)
    if settings.ratelimit_storage_uri.startswith(db_limits.SCHEME + "://"):
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"database": app.extensions["complaints"].db})
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "complaints")
    # A shared storage (Redis, the database) that goes away must not stop sign-in: count in memory meanwhile.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        own = response.headers["Content-Security-Policy"]
        if "frame-ancestors" not in own:  # a view's own policy (e.g. sandboxed model XML) is never framed either
            response.headers["Content-Security-Policy"] = own + "; frame-ancestors 'none'"
        if request.endpoint != "static" and "no-store" not in response.headers.get("Cache-Control", ""):
            response.headers["Cache-Control"] = "no-store"
        return response


def failed_sign_in(response: Response) -> bool:
    """A sign-in that did not succeed (a success redirects)."""
    return response.status_code != 302


def account_and_address() -> str:
    """The throttle key of one account tried from one address."""
    account = request.form.get("username", "").strip().casefold()[:80]
    return f"{account}@{get_remote_address()}"


def throttle_sign_in(app: Flask) -> Limiter:
    """Limit failed posts to the app's sign-in view, per account and address and per address (call once
    the view is registered). Each app has its own limiter: two apps in one process (tests, a live server)
    count apart unless they share a storage."""
    limiter = Limiter(key_func=get_remote_address, strategy="moving-window", app=app)
    view = app.view_functions[SIGN_IN_ENDPOINT]
    view = limiter.limit(ACCOUNT_LIMIT, key_func=account_and_address, methods=["POST"],
                         deduct_when=failed_sign_in)(view)
    app.view_functions[SIGN_IN_ENDPOINT] = limiter.limit(ADDRESS_LIMIT, methods=["POST"],
                                                         deduct_when=failed_sign_in)(view)
    app.extensions["sign_in_limiter"] = limiter
    return limiter
