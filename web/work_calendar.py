"""The working calendar in the browser (administrators): each year's public holidays and 调休 make-up working
days, imported from the holiday package or entered by hand, and each department's working hours. Deadlines
counted in working time follow them (engine/complaints/holidays.py)."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, TimeField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from engine import clock
from engine.complaints import holidays
from engine.errors import InvalidInput
from engine.people.access import check_admin
from web.context import actor, reading, staff_blueprint, writing
from web.forms import REQUIRED, ActionForm, OneValueForm, on_calendar_day, saved
from web.i18n import field_errors, tz

bp = staff_blueprint("calendar", __name__)

KINDS = {holidays.HOLIDAY: _l("Public holiday"), holidays.WORKDAY: _l("Make-up working day")}


class DayForm(OneValueForm):
    day = DateField(_l("Day"), validators=[InputRequired(REQUIRED), on_calendar_day])
    kind = SelectField(_l("Kind"), choices=[SelectChoice(k, v) for k, v in KINDS.items()])
    # A NUL in the name is the engine's to refuse, beside the day's range (every problem shown at once).
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=holidays.MAX_NAME)])


class HoursForm(OneValueForm):
    starts = TimeField(_l("From"), validators=[InputRequired(REQUIRED)])
    ends = TimeField(_l("Until"), validators=[InputRequired(REQUIRED)])


def _year() -> int:
    try:
        year = int(request.values.get("year", ""))
    except ValueError:
        year = clock.now().astimezone(tz()).year
    return min(max(year, holidays.FIRST_YEAR), holidays.LAST_YEAR)


def _page(year: int, form: DayForm, status: int = 200, hours_errors: dict | None = None):
    with reading() as uow:
        view = holidays.year_view(uow, actor(), year)
        hours = holidays.department_hours(uow, actor())
    return render_template("calendar/index.html", view=view, hours=hours, form=form, kinds=KINDS,
                           action_form=ActionForm(), hours_errors=hours_errors or {},
                           first=holidays.FIRST_YEAR, last=holidays.LAST_YEAR), status


@bp.get("/admin/calendar")
def index():
    check_admin(actor())
    year = _year()
    return _page(year, DayForm(formdata=None))


@bp.post("/admin/calendar/days")
def set_day():
    check_admin(actor())  # the role first: a refusal never depends on the body
    form = DayForm()
    if saved(form, lambda uow: holidays.set_day(uow, actor(), form.day.data, form.kind.data, form.name.data))[0]:
        flash(_("%(day)s is entered.", day=form.day.data.isoformat()), "success")
        return redirect(url_for("calendar.index", year=form.day.data.year))
    year = form.day.data.year if form.day.data and not form.day.errors else _year()
    return _page(min(max(year, holidays.FIRST_YEAR), holidays.LAST_YEAR), form, 422)


@bp.post("/admin/calendar/days/<day>/remove")
def remove_day(day: str):
    check_admin(actor())
    try:
        when = date.fromisoformat(day)
    except ValueError:
        when = date.min  # no such day: refused as not found
    with writing() as uow:
        holidays.remove_day(uow, actor(), when)
    flash(_("%(day)s is taken out of the calendar.", day=day), "success")
    return redirect(url_for("calendar.index", year=when.year))


@bp.post("/admin/calendar/import")
def import_year():
    check_admin(actor())
    year = _year()
    try:
        with writing() as uow:
            count = holidays.import_year(uow, actor(), year)
    except InvalidInput as err:
        flash("; ".join(m for ms in field_errors(err.errors).values() for m in ms), "error")
        return _page(year, DayForm(formdata=None), 422)
    flash(_("%(count)s days of %(year)s were copied from the holiday package.", count=count, year=year), "success")
    return redirect(url_for("calendar.index", year=year))


@bp.post("/admin/calendar/hours/<department>")
def set_hours(department: str):
    check_admin(actor())
    form = HoursForm()
    year = _year()
    errors: dict[str, list[str]] = {}
    if form.validate_on_submit():
        try:
            with writing() as uow:
                holidays.set_hours(uow, actor(), department, form.starts.data, form.ends.data)
        except InvalidInput as err:
            errors = {k: list(v) for k, v in field_errors(err.errors).items()}
        else:
            flash(_("The working hours are saved."), "success")
            return redirect(url_for("calendar.index", year=year) + "#hours")
    else:
        errors = {k: list(v) for k, v in form.errors.items()}
    return _page(year, DayForm(formdata=None), 422, {department: [m for ms in errors.values() for m in ms]})


def missing_years() -> list[int]:
    """The years near now without a holiday schedule (for the administrator's and process owner's first
    pages: their deadlines in working time count Monday to Friday)."""
    with reading() as uow:
        return holidays.missing_years(uow.session, clock.now().astimezone(tz()).date())
