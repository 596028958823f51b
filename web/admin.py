"""Administration in the browser (the admin role): users, the API tokens of everyone, the customers'
links sent; and everyone's own password. Every change is a use case of `engine.people.users` (audited)."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from engine.complaints import customer_link
from engine.people import departments, tokens
from engine.people import users as staff
from engine.people.access import check_admin
from engine.people.roles import ROLES
from web import labels
from web.context import actor, reading, staff_blueprint, writing
from web.forms import REQUIRED, ActionForm, OneValueForm, form_page, saved

bp = staff_blueprint("admin", __name__)
MAX_PASSWORD = 200


def no_nul(form, field) -> None:
    """Refuse NUL in a field the engine does not read as free text (no database stores it)."""
    if isinstance(field.data, str) and "\x00" in field.data:
        raise ValidationError(_l("The text contains a NUL character."))


#: What a user name may hold (the engine checks it again: letters, digits, "_" and ".").
USERNAME = Regexp(r"^[\w.]+$", message=_l("Not in the expected format."))


class ProfileForm(OneValueForm):
    """What an administrator sets on a user (the role's and department's choices come from the engine)."""

    display_name = StringField(_l("Display name"), validators=[DataRequired(REQUIRED),
                                                               Length(max=staff.MAX_DISPLAY_NAME)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, labels.ROLES[r]) for r in ROLES])
    department = SelectField(_l("Department"))
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=staff.MAX_EMAIL), no_nul])


class NewUserForm(ProfileForm):
    username = StringField(_l("User name"), validators=[DataRequired(REQUIRED), Length(max=80), USERNAME])
    password = PasswordField(_l("Password"), validators=[DataRequired(REQUIRED), Length(max=MAX_PASSWORD), no_nul])


class ResetPasswordForm(OneValueForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(REQUIRED), Length(max=MAX_PASSWORD),
                                                             no_nul])


class OwnPasswordForm(OneValueForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(REQUIRED), Length(max=MAX_PASSWORD),
                                                                no_nul])
    password = PasswordField(_l("New password"), validators=[DataRequired(REQUIRED), Length(max=MAX_PASSWORD),
                                                             no_nul])


def _departments(form: ProfileForm, keep: str | None = None) -> ProfileForm:
    """Offer the active departments (and `keep`, the one the user is in, even if deactivated): read from the
    departments table, which the administrator changes (docs/ARCHITECTURE.md, "Departments")."""
    with reading() as uow:
        offered = departments.codes(uow.session, active_only=True)
    names = labels.department_names()
    form.department.choices = [SelectChoice("", "—")] + [
        SelectChoice(code, names.get(code, code)) for code in names if code in offered or code == keep]
    return form


# --- users ------------------------------------------------------------------------------------------------


@bp.get("/admin/users")
def users():
    with reading() as uow:
        items = staff.list_users(uow, actor())
    return render_template("admin/users.html", items=items, action_form=ActionForm())


@bp.route("/admin/users/new", methods=["GET", "POST"])
def new_user():
    check_admin(actor())  # the role first: a refusal never depends on the body
    form = _departments(NewUserForm())
    if saved(form, lambda uow: staff.create_user(
            uow, actor(), form.username.data.strip(), form.role.data, form.password.data,
            department=form.department.data or None, display_name=form.display_name.data.strip(),
            email=form.email.data or None))[0]:
        flash(_("User %(user)s added.", user=form.username.data.strip()), "success")
        return redirect(url_for("admin.users"))
    return form_page("admin/user_new.html", form)


def _user_page(user_id: int, profile: ProfileForm, reset: ResetPasswordForm, status: int = 200):
    with reading() as uow:
        user = staff.get_user(uow, actor(), user_id)
    _departments(profile, user.department)
    if profile.display_name.data is None:
        profile.display_name.data = user.display_name
        profile.role.data, profile.department.data = user.role, user.department or ""
        profile.email.data = user.email
    return render_template("admin/user_edit.html", user=user, form=profile, reset=reset,
                           action_form=ActionForm()), status


@bp.get("/admin/users/<int:user_id>")
def edit_user(user_id: int):
    return _user_page(user_id, ProfileForm(formdata=None), ResetPasswordForm(formdata=None))


@bp.post("/admin/users/<int:user_id>")
def update_user(user_id: int):
    check_admin(actor())
    with reading() as uow:
        held = staff.get_user(uow, actor(), user_id).department
    form = _departments(ProfileForm(), held)
    if saved(form, lambda uow: staff.update_user(
            uow, actor(), user_id, role=form.role.data, department=form.department.data or None,
            display_name=form.display_name.data, email=form.email.data or None))[0]:
        flash(_("Saved."), "success")
        return redirect(url_for("admin.users"))
    return _user_page(user_id, form, ResetPasswordForm(formdata=None), 422)


@bp.post("/admin/users/<int:user_id>/active")
def set_active(user_id: int):
    check_admin(actor())
    active = request.form.get("active") == "1"
    with writing() as uow:
        staff.set_user_active(uow, actor(), user_id, active)
    flash(_("The user can sign in again.") if active else _("The user is deactivated; their sessions ended."),
          "success")
    return redirect(url_for("admin.users"))


@bp.post("/admin/users/<int:user_id>/password")
def reset_password(user_id: int):
    check_admin(actor())
    form = ResetPasswordForm()
    if saved(form, lambda uow: staff.reset_password(uow, actor(), user_id, form.password.data))[0]:
        flash(_("The password is set; the user's sessions and API tokens ended."), "success")
        return redirect(url_for("admin.edit_user", user_id=user_id))
    return _user_page(user_id, ProfileForm(formdata=None), form, 422)


# --- tokens and customers' links ----------------------------------------------------------------------------


@bp.get("/admin/tokens")
def all_tokens():
    check_admin(actor())
    with reading() as uow:
        items = tokens.list_tokens(uow, actor())
    return render_template("admin/tokens.html", items=items)


@bp.get("/admin/customer-links")
def customer_links():
    with reading() as uow:
        items = customer_link.sent_links(uow, actor())
    return render_template("admin/customer_links.html", items=items)


#: How the record of administration words each event (`staff.ADMIN_EVENTS`); `%(user)s` the user it is about.
EVENTS = {
    "user_added": _l("added the user %(user)s"),
    "user_changed": _l("changed the user %(user)s"),
    "user_deactivated": _l("deactivated the user %(user)s"),
    "user_activated": _l("reactivated the user %(user)s"),
    "password_reset": _l("set a new password for %(user)s"),
    "password_changed": _l("changed their own password"),
    "deputy_appointed": _l("appointed %(user)s as deputy (责任代理人)"),
    "deputy_ended": _l("ended a deputy appointment"),
    "api_token_created": _l("created an API token for %(user)s"),
    "api_token_revoked": _l("revoked an API token"),
    "api_tokens_ended": _l("API tokens ended (new password or deactivation)"),
    "calendar_day_set": _l("entered %(user)s in the working calendar"),
    "calendar_day_removed": _l("took %(user)s out of the working calendar"),
    "calendar_year_imported": _l("copied the holiday package's days of %(user)s"),
    "working_hours_set": _l("set the working hours of %(user)s"),
    "department_added": _l("added the department %(user)s"),
    "department_renamed": _l("renamed the department %(user)s"),
    "department_deactivated": _l("deactivated the department %(user)s"),
    "department_activated": _l("reactivated the department %(user)s"),
    "mail_incident_retried": _l("queued the mail %(user)s again"),
    "mail_incident_dismissed": _l("dismissed the mail %(user)s"),
}


@bp.get("/admin/record")
def record():
    """Who did what in administration: users, passwords, deputies, API tokens, the working calendar, mail set
    aside (newest first)."""
    with reading() as uow:
        items = staff.admin_events(uow, actor())
    return render_template("admin/record.html", items=[
        (e, str(EVENTS[e.kind]) % {"user": _subject(e)}) for e in items])


def _subject(event: staff.AdminEvent) -> str:
    if event.kind == "working_hours_set" or event.kind.startswith("department_"):  # its name, not its code
        return labels.department(event.user)
    return event.user or "—"


# --- one's own password -----------------------------------------------------------------------------------


@bp.route("/account/password", methods=["GET", "POST"])
def own_password():
    form = OwnPasswordForm()
    changed, epoch = saved(form, lambda uow: staff.change_own_password(uow, actor(), form.current.data,
                                                                         form.password.data))
    if changed:
        # Every other session ended with the new epoch; this one carries on under it.
        user = current_user._get_current_object()
        user.session_epoch = epoch
        login_user(user)
        flash(_("Your password is changed. Your other sessions and API tokens have ended."), "success")
        return redirect(url_for("tasks.index"))
    return form_page("admin/password.html", form)
