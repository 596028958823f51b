"""Finding complaints by status, level, category, department, channel, date and text; CSV export."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, time, timedelta

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask_babel import gettext as _
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from engine import clock
from engine.complaints import casework, search
from engine.people.access import check_can_see_complaints
from engine.people.roles import DEPARTMENT_HEAD
from forms.schema import FormDefinition
from web import labels
from web.context import actor, page_number, reading, reading_reports, state
from web.forms import SearchForm
from web.i18n import tz
from web.present import element_name, enum_label, local_time
from web.spreadsheet import safe_row

bp = Blueprint("search", __name__)
PER_PAGE = 25


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user whose role sees complaints (not process owners)."""
    check_can_see_complaints(actor())


def _form(intake: FormDefinition | None) -> SearchForm:
    form = SearchForm(request.args)
    every = [SelectChoice("", _("All"))]
    form.status.choices = every + [SelectChoice(k, str(v)) for k, v in labels.STATUSES.items()]
    for field in (form.level, form.category, form.channel):
        prop = intake.properties.get(field.name, {}) if intake is not None else {}
        field.choices = every + [SelectChoice(v, enum_label(intake, field.name, v))
                                 for v in prop.get("enum", [])]
    form.department.choices = every + [SelectChoice(k, v) for k, v in labels.department_names().items()]
    if actor().role == DEPARTMENT_HEAD:
        own = actor().department
        form.department.choices = [SelectChoice(own, labels.department(own))]
        form.department.data = own
    return form


def _filters(form: SearchForm) -> search.Filters:
    zone = tz()
    start = datetime.combine(form.created_from.data, time(), zone) if form.created_from.data else None
    end = (datetime.combine(form.created_to.data + timedelta(days=1), time(), zone)
           if form.created_to.data else None)
    return search.Filters(status=form.status.data or None, level=form.level.data or None,
                          category=form.category.data or None, department=form.department.data or None,
                          channel=form.channel.data or None, created_from=start, created_until=end,
                          text=form.q.data or None)


def _model_names(uow):
    """The current model's intake form and end events, which name the filters' and the results' codes."""
    process_id = state().settings.process_id
    return casework.intake_forms(uow, process_id).get(casework.INTAKE), casework.outcome_titles(uow, process_id)


@bp.get("/search")
def index():
    with reading_reports() as uow:
        intake, outcomes = _model_names(uow)
        form = _form(intake)
        page = None
        if form.validate():
            page = search.search(uow, actor(), _filters(form), page=page_number(),
                                 per_page=PER_PAGE)
    return render_template("search/index.html", form=form, page=page, intake=intake, outcomes=outcomes,
                           query={k: v for k, v in request.args.items() if k != "page"})


@bp.get("/search.csv")
def export():
    """The filtered complaints as CSV, UTF-8 with a BOM so that Excel shows Chinese correctly."""
    with reading() as uow:
        intake, outcomes = _model_names(uow)
        form = _form(intake)
    if not form.validate():
        return index()
    filters = _filters(form)
    header = [_("Reference"), _("Received"), _("Status"), _("Outcome"), _("Level"), _("Category"),
              _("Department"), _("Channel"), _("Customer"), _("Contact"), _("Customer id"), _("Order id"),
              _("Product"), _("Description"), _("Demand"), _("Round"), _("Closed"), _("Recorded")]

    departments = labels.department_names()  # before streaming: the request's context may be gone then

    def rows() -> Iterator[list[str]]:
        with reading_reports() as uow:
            for c in search.export(uow, actor(), filters):
                yield [c.reference or "", local_time(c.received_at), labels.label(labels.STATUSES, c.status),
                       element_name(outcomes, c.outcome), enum_label(intake, "level", c.level),
                       enum_label(intake, "category", c.category),
                       departments.get(c.department, c.department or ""),
                       enum_label(intake, "channel", c.channel), c.customer_name, c.customer_contact,
                       c.customer_id or "", c.order_id or "", c.product or "", c.description, c.demand,
                       str(c.round or ""), local_time(c.closed_at), local_time(c.created_at)]

    def lines() -> Iterator[str]:
        yield "\ufeff" + _csv_line(header)
        for row in rows():
            yield _csv_line(safe_row(row))

    filename = f"complaints-{clock.now().astimezone(tz()):%Y%m%d-%H%M}.csv"
    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "X-Content-Type-Options": "nosniff"})


def _csv_line(values: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()
