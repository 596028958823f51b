"""The first page after signing in (what waits for the person), the navigation's counts, and the
department head's deputies (责任代理人)."""
from __future__ import annotations

from datetime import UTC

from flask import Blueprint, Flask, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from wtforms import DateTimeLocalField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from engine import clock
from engine.complaints import casework, tasks
from engine.complaints import desk as desks
from engine.people import deputies
from engine.people.access import may_see_complaints
from engine.people.roles import ADMIN, DEPARTMENT_HEAD, MANAGER_ROLES
from web import work_calendar
from web.admin import no_nul
from web.context import actor, reading, state, writing
from web.forms import REQUIRED, ActionForm, OneValueForm, on_calendar, saved
from web.i18n import tz

bp = Blueprint("desk", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


@bp.get("/home")
def home():
    """The first page: the person's tasks, the role's shared pool, what is overdue or due soon, and for
    managers what waits for their approval or was escalated to them."""
    me = actor()
    if not may_see_complaints(me):  # process owners see no complaints: their first page is the models
        return redirect(url_for("modelling.index"))
    with reading() as uow:
        view = desks.desk(uow, me)
        intake = casework.intake_forms(uow, state().settings.process_id).get(casework.INTAKE)
    gaps = work_calendar.missing_years() if me.role == ADMIN else []
    return render_template("desk/home.html", desk=view, intake=intake, me=me, calendar_gaps=gaps,
                           is_manager=me.role in MANAGER_ROLES, action_form=ActionForm())


def nav_counts():
    """The signed-in user's counts for the navigation, read once per request (None when signed out)."""
    if not current_user.is_authenticated:
        return None
    if "nav_counts" not in g:
        with reading() as uow:
            g.nav_counts = desks.counts(uow, actor())
    return g.nav_counts


def init_app(app: Flask) -> None:
    """Templates read `nav_counts()` and `may_appoint()` (the layout's navigation)."""
    app.jinja_env.globals.update(nav_counts=nav_counts, may_appoint=may_appoint, may_assign_task=may_assign_task)


def may_assign_task(task) -> bool:
    """For the task lists: may the signed-in user assign this task (`tasks.may_assign`)?"""
    return current_user.is_authenticated and tasks.may_assign(actor(), task)


# --- deputies ------------------------------------------------------------------------------------------------


class DeputyForm(OneValueForm):
    """A department head appoints a deputy for a period."""

    deputy = SelectField(_l("Deputy"), validate_choice=False, validators=[InputRequired(REQUIRED), Length(max=80),
                                                                        no_nul])
    starts_at = DateTimeLocalField(_l("From"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(REQUIRED),
                                                                                   on_calendar])
    ends_at = DateTimeLocalField(_l("Until"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(REQUIRED),
                                                                                 on_calendar])


def _deputy_choices(form: DeputyForm) -> None:
    with reading() as uow:
        colleagues = deputies.candidates(uow, actor())
    form.deputy.choices = [SelectChoice("", "—")] + [SelectChoice(u, name) for u, name in colleagues]


def _deputies_page(form: DeputyForm, status: int = 200):
    with reading() as uow:
        items = deputies.appointments(uow, actor())
    return render_template("desk/deputies.html", items=items, form=form, action_form=ActionForm(),
                           now=clock.now()), status


@bp.get("/deputies")
def deputies_page():
    deputies.check_can_appoint(actor())
    form = DeputyForm(formdata=None)
    _deputy_choices(form)
    return _deputies_page(form)


@bp.post("/deputies")
def appoint():
    deputies.check_can_appoint(actor())  # the role first: a refusal never depends on the body
    form = DeputyForm()
    _deputy_choices(form)
    if saved(form, lambda uow: deputies.appoint(uow, actor(), form.deputy.data,
                                                form.starts_at.data.replace(tzinfo=tz()).astimezone(UTC),
                                                form.ends_at.data.replace(tzinfo=tz()).astimezone(UTC)))[0]:
        flash(_("The deputy is appointed."), "success")
        return redirect(url_for("desk.deputies_page"))
    return _deputies_page(form, 422)


@bp.post("/deputies/<int:appointment_id>/end")
def end_appointment(appointment_id: int):
    deputies.check_can_appoint(actor())
    with writing() as uow:
        deputies.end_appointment(uow, actor(), appointment_id)
    flash(_("The appointment has ended."), "success")
    return redirect(url_for("desk.deputies_page"))


def may_appoint() -> bool:
    """For the navigation: department heads manage their deputies."""
    return current_user.is_authenticated and actor().role == DEPARTMENT_HEAD

