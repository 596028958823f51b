"""Signing in and out, and choosing the language."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.errors import RateLimitExceeded
from flask_login import UserMixin, current_user, login_required, login_user, logout_user

from engine.people import users as staff
from engine.people.roles import Actor
from web.context import actor, reading, safe_next, writing
from web.extensions import login_manager
from web.forms import LanguageForm, LoginForm

bp = Blueprint("auth", __name__)


class StaffUser(UserMixin):
    """The signed-in member of staff, as Flask-Login keeps it for one request."""

    def __init__(self, member: staff.StaffMember):
        self.actor: Actor = member.actor
        self.display_name = member.display_name
        self.locale = member.locale
        self.session_epoch = member.session_epoch

    def get_id(self) -> str:
        # The epoch makes a session end on the server: signing out raises it, so a copied cookie is refused.
        return f"{self.actor.id}.{self.session_epoch}"


@login_manager.user_loader
def _load_user(session_id: str) -> StaffUser | None:
    user_id, _dot, epoch = session_id.partition(".")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    with reading() as uow:
        member = staff.load_member(uow, int(user_id))
    return StaffUser(member) if member and member.session_epoch == int(epoch) else None


#: Seconds a throttled browser is told to wait (the account-and-address window).
THROTTLED_RETRY_AFTER = "60"


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in (failed posts are throttled: web.security.throttle_sign_in)."""
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        with reading() as uow:
            found = staff.authenticate(uow, form.username.data, form.password.data)
        if found is not None:
            with reading() as uow:
                member = staff.load_member(uow, found.id)
            _renew_session()
            login_user(StaffUser(member))
            flash(_("Welcome, %(name)s.", name=member.display_name), "success")
            return redirect(safe_next(form.next.data, url_for("tasks.index")))
        flash(_("The user name or the password is wrong."), "error")
    return render_template("auth/login.html", form=form)


@bp.errorhandler(RateLimitExceeded)
def _throttled(err: RateLimitExceeded):
    """Too many failed sign-ins: the sign-in page again, saying why and for how long."""
    form = LoginForm(formdata=None, next=request.form.get("next", ""))
    form.username.data = request.form.get("username", "")
    flash(_("Too many failed sign-ins. Wait a minute and try again; if you forgot your password, "
            "ask an administrator to set a new one."), "error")
    return render_template("auth/login.html", form=form), 429, {"Retry-After": THROTTLED_RETRY_AFTER}


def _renew_session() -> None:
    """Start a fresh session at sign-in: nothing planted before it (a CSRF token, a fixed session) survives,
    only the language chosen on the sign-in page."""
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


@bp.post("/logout")
@login_required
def logout():
    with writing() as uow:
        staff.end_sessions(uow, actor().id)
    logout_user()  # a POST: CSRFProtect has checked its token
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    """Switch the language: remembered on the user, or in the session before signing in."""
    form = LanguageForm()
    if not form.validate_on_submit():
        abort(400)
    if current_user.is_authenticated:
        with writing() as uow:
            staff.set_locale(uow, actor(), form.locale.data)
    session["locale"] = form.locale.data
    return redirect(safe_next(form.next.data, url_for("tasks.index")))
