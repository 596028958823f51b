"""The analysis reports (weekly, monthly, yearly): charts beside tables, CSV and Excel export, and a
printable view. The figures come from `engine.complaints.reports`; this module only names and formats them."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import Response, render_template, request
from flask_babel import format_decimal, gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from engine import clock
from engine.complaints import intake, report_review, reports
from engine.errors import Code, InvalidInput
from engine.people.roles import DEPARTMENT_HEAD, GENERAL_MANAGER
from forms.errors import FormCode
from web import charts, labels
from web.context import actor, reading, reading_reports, staff_blueprint, state
from web.i18n import tz
from web.present import enum_label
from web.spreadsheet import safe_row, sheet_row

bp = staff_blueprint("reports", __name__)

KIND_NAMES = {"week": _l("Weekly report"), "month": _l("Monthly report"), "year": _l("Yearly report")}
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.app_context_processor
def _nav() -> dict:
    signed_in = current_user.is_authenticated
    return {"can_read_reports": signed_in and current_user.actor.role in reports.REPORT_ROLES}


# --- what a page shows ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    title: str
    #: How values are shown: text, count, rate (0–1), seconds, money, delta, pct, number.
    kind: str = "count"


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list] = field(default_factory=list)
    chart: Markup | None = None


def _compared(title: str) -> list[Column]:
    return [Column(title, "text"), Column(gettext("This period")), Column(gettext("Previous period")),
            Column(gettext("Change"), "delta"), Column(gettext("Change %"), "pct")]


def _figure_row(label: str, figure: reports.Figure, kind: str = "count") -> list:
    return [label, (figure.current, kind), (figure.previous, kind), (figure.delta, "delta:" + kind),
            (figure.pct, "pct")]


def build_tables(report: reports.Report, intake) -> list[Table]:
    """The report as titled tables (and charts), in the page language; exports use the same tables."""
    now_label, before_label = period_label(report.period), period_label(report.previous)
    tables = []
    summary = Table("summary", gettext("Summary"), _compared(gettext("Figure")))
    for label, figure, kind in (
            (gettext("New complaints"), report.total, "count"),
            (gettext("Closed complaints"), report.closed, "count"),
            (gettext("Validity rate"), report.validity_rate, "rate"),
            (gettext("Suggested category kept"), report.suggestion_kept, "rate"),
            (gettext("Satisfaction rate"), report.satisfaction_rate, "rate"),
            (gettext("Average rounds needed"), report.rounds_average, "number"),
            (gettext("Deadline breaches"), report.breaches, "count"),
            (gettext("Penalties (¥)"), report.penalty_amount, "money"),
            (gettext("Survey answers"), report.surveys, "count"),
            (gettext("Average survey rating (1–5)"), report.survey_rating, "number"),
            (gettext("Repeat complainants"), report.repeat_complainants, "count"),
            (gettext("Complaints by repeat complainants"), report.repeat_complaints, "count")):
        summary.rows.append(_figure_row(label, figure, kind))
    tables.append(summary)

    days = [date.fromisoformat(f.key) for f in report.timeline]
    trend = Table("timeline", gettext("New complaints over time"), _compared(gettext("Date")))
    for day, figure in zip(days, report.timeline, strict=True):
        trend.rows.append(_figure_row(day.strftime("%Y-%m") if report.kind == "year" else day.isoformat(), figure))
    trend.chart = charts.line([r[0][5:] if report.kind != "year" else r[0] for r in trend.rows],
                              [f.current for f in report.timeline], [f.previous for f in report.timeline],
                              trend.title, now_label, before_label)
    tables.append(trend)

    def grouped(key: str, title: str, figures: list[reports.Figure], name) -> Table:
        table = Table(key, title, _compared(title))
        table.rows = [_figure_row(name(f.key), f) for f in figures]
        table.chart = charts.bars([charts.Bar(name(f.key), f.current or 0, f.previous or 0) for f in figures],
                                  title, now_label, before_label)
        return table

    none = gettext("none")
    tables.append(grouped("category", gettext("By category"), report.by_category,
                          lambda k: enum_label(intake, "category", k) if k else none))
    tables.append(grouped("level", gettext("By level"), report.by_level,
                          lambda k: enum_label(intake, "level", k) if k else none))
    tables.append(grouped("department", gettext("By department"), report.by_department,
                          lambda k: labels.department(k) if k else gettext("not assigned")))
    tables.append(grouped("channel", gettext("By channel"), report.by_channel,
                          lambda k: enum_label(intake, "channel", k) if k else none))
    if report.malicious_by_channel:
        tables.append(grouped("malicious", gettext("Harassment / malicious complaints by source"),
                              report.malicious_by_channel, lambda k: enum_label(intake, "channel", k)))
    if report.withdrawn_by_channel:
        tables.append(grouped("withdrawn", gettext("Withdrawn complaints by channel"),
                              report.withdrawn_by_channel, lambda k: enum_label(intake, "channel", k)))
    if report.by_logistics_issue:
        tables.append(grouped("logistics_issue", gettext("Logistics problems by type"), report.by_logistics_issue,
                              lambda k: enum_label(intake, "logistics_issue", k)))

    response = Table("first_response", gettext("Time to first response"), [
        Column(gettext("Level"), "text"), Column(gettext("Limit"), "seconds"), Column(gettext("Answered")),
        Column(gettext("Median"), "seconds"), Column(gettext("Median before"), "seconds"),
        Column(gettext("90th percentile"), "seconds"), Column(gettext("90th percentile before"), "seconds"),
        Column(gettext("Within the limit"), "rate"), Column(gettext("Breached")),
        Column(gettext("Breached before")), Column(gettext("Not answered yet"))])
    for row in report.first_response:
        name = gettext("All levels") if row.level == reports.ALL else enum_label(intake, "level", row.level)
        answered = row.responded.current or 0
        within = (row.within_limit.current / answered) if answered and row.within_limit.current is not None \
            else None
        response.rows.append([name, (row.limit, "seconds"), (answered, "count"), (row.median.current, "seconds"),
                              (row.median.previous, "seconds"), (row.p90.current, "seconds"),
                              (row.p90.previous, "seconds"), (within, "rate"), (row.breached.current, "count"),
                              (row.breached.previous, "count"), (row.waiting.current, "count")])
    tables.append(response)

    for key, title, rows, first in (
            ("penalties_person", gettext("Breaches and penalties by person"), report.penalties_by_person,
             gettext("Person")),
            ("penalties_department", gettext("Breaches and penalties by department"),
             report.penalties_by_department, gettext("Department"))):
        by_person = key == "penalties_person"
        # The person table names each person's department; the department table is by department already.
        table = Table(key, title, [Column(first, "text")] + ([Column(gettext("Department"), "text")] if by_person
                                                             else []) + [
            Column(gettext("Breaches")), Column(gettext("Breaches before")),
            Column(gettext("Penalties (¥)"), "money"), Column(gettext("Penalties before (¥)"), "money"),
            Column(gettext("Change %"), "pct")])
        for row in rows:
            department = labels.department(row.department) if row.department else "—"
            who = row.key if by_person else department
            table.rows.append([who or gettext("not known")] + ([department] if by_person else []) + [
                (row.breaches.current, "count"), (row.breaches.previous, "count"), (row.amount.current, "money"),
                (row.amount.previous, "money"), (row.amount.pct, "pct")])
        now_at = 4 if by_person else 3
        table.chart = charts.bars([charts.Bar(str(r[0]), r[now_at][0] or 0, r[now_at + 1][0] or 0)
                                   for r in table.rows], title, now_label, before_label) if table.rows else None
        tables.append(table)

    tables.append(grouped("rounds", gettext("Rounds needed (closed complaints)"), report.rounds,
                          lambda k: gettext("%(n)s round(s)", n=k)))
    tables.append(grouped("causes", gettext("Causes with most complaints"), report.top_causes, str))
    tables.append(grouped("products", gettext("Products with most complaints"), report.top_products, str))
    repeat = Table("repeat", gettext("Repeat complainants"), [
        Column(gettext("Contact"), "text"), Column(gettext("Customer"), "text"), Column(gettext("Complaints"))])
    repeat.rows = [[r.contact, r.name, (r.complaints, "count")] for r in report.top_repeat]
    tables.append(repeat)
    return tables


def period_label(period: reports.Period) -> str:
    """A period as people name it: 2026-11, 2026, or the week's first and last day."""
    if period.kind == "year":
        return str(period.first_day.year)
    if period.kind == "month":
        return period.first_day.strftime("%Y-%m")
    return f"{period.first_day.isoformat()} – {(period.first_day + timedelta(days=6)).isoformat()}"


def shown(cell) -> str:
    """A cell as the page shows it."""
    if not isinstance(cell, tuple):
        return str(cell)
    value, kind = cell
    if value is None:
        return "—"
    if kind.startswith("delta:"):
        return ("+" if value > 0 else "") + shown((value, kind[6:])) if value else "0"
    if kind == "pct":
        return f"{'+' if value > 0 else ''}{value:.1f}%"
    if kind == "rate":
        return f"{100 * value:.1f}%"
    if kind == "seconds":
        return gettext("%(n)s min", n=format_decimal(value / 60, format="#,##0.0"))
    if kind == "money":  # the trade writes amounts as "80 元"
        amount = format_decimal(value, format="#,##0")
        return gettext("%(amount)s yuan", amount=amount)
    if kind == "number":
        return format_decimal(value, format="#,##0.0#")
    return format_decimal(value, format="#,##0")


def exported(cell):
    """A cell as exports hold it: plain numbers (rates and changes in per cent, times in minutes)."""
    if not isinstance(cell, tuple):
        return cell
    value, kind = cell
    if value is None:
        return None
    kind = kind.removeprefix("delta:")
    if kind == "rate":
        return round(100 * value, 2)
    if kind == "seconds":
        return round(value / 60, 2)
    if kind in ("pct", "number"):
        return round(value, 2)
    return value


def _export_title(column: Column) -> str:
    return column.title + {"rate": " (%)", "seconds": gettext(" (min)"), "pct": ""}.get(column.kind, "")


# --- pages ---------------------------------------------------------------------------------------

#: How far from the ends of the calendar a report's date must be (its period and the one compared with).
REPORT_MARGIN = timedelta(days=800)


def _request() -> tuple[str, date, str | None]:
    kind = request.args.get("kind", "month")
    if kind not in reports.KINDS:
        raise InvalidInput.field("kind", Code.ONE_OF, options=", ".join(reports.KINDS))
    raw = request.args.get("date", "")
    try:
        day = date.fromisoformat(raw) if raw else clock.now().astimezone(tz()).date()
    except ValueError as err:
        raise InvalidInput.field("date", FormCode.NOT_A_DATE) from err
    if not date.min + REPORT_MARGIN <= day <= date.max - REPORT_MARGIN:
        # A report compares with the year before and ends a year later: those must exist on the calendar.
        raise InvalidInput.field("date", FormCode.NOT_A_DATE)
    department = request.args.get("department") or None
    if department is not None and department not in labels.department_names():
        raise InvalidInput.field("department", FormCode.NOT_AN_OPTION)
    return kind, day, department


def _build():
    kind, day, department = _request()
    with reading_reports() as uow:
        process_id = state().settings.process_id
        report = reports.build_report(uow, actor(), kind, day, tz(), department, process_id)
        intake_form = intake.intake_form(uow, process_id)
    return report, build_tables(report, intake_form.form if intake_form else None)


@bp.route("/reports")
def index():
    report, tables = _build()
    step = {"week": timedelta(days=7), "month": timedelta(days=32), "year": timedelta(days=366)}[report.kind]
    query = {"kind": report.kind, "department": report.department or ""}
    with reading() as uow:  # the review's state is written here: read it from the main database, not a replica
        review = report_review.state_of(uow.session, report.kind, report.period.first_day, tz()) \
            if report.department is None else None
        orders = report_review.volume_of(uow.session, report.kind, report.period.first_day)
    return render_template(
        "reports/index.html", report=report, tables=tables, shown=shown, query=query, review=review,
        orders=orders, rate=report_review.complaint_rate(int(report.total.current or 0), orders),
        may_submit=actor().role in report_review.SUBMITTERS, may_sign=actor().role == GENERAL_MANAGER,
        may_keep_volumes=actor().role in report_review.VOLUME_KEEPERS,
        title=KIND_NAMES[report.kind], period=period_label(report.period), previous=period_label(report.previous),
        earlier=report.previous.first_day, later=report.period.first_day + step,
        kinds=KIND_NAMES, departments=labels.department_names(),
        own_department=actor().department if actor().role == DEPARTMENT_HEAD else None,
        printable=request.args.get("print") == "1")


@bp.route("/reports/export.csv")
def export_csv():
    report, tables = _build()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(safe_row([str(KIND_NAMES[report.kind]), period_label(report.period),
                              gettext("compared with %(period)s", period=period_label(report.previous))]))
    for table in tables:
        writer.writerow([])
        writer.writerow(safe_row([table.title]))
        writer.writerow(safe_row([_export_title(c) for c in table.columns]))
        writer.writerows([safe_row([exported(cell) for cell in row]) for row in table.rows])
    # A byte-order mark so that Excel opens the Chinese text as UTF-8.
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{_filename(report)}.csv"'})


@bp.route("/reports/export.xlsx")
def export_xlsx():
    from openpyxl import Workbook  # only the export needs it

    report, tables = _build()
    book = Workbook(write_only=True)
    used: set[str] = set()
    for table in tables:
        sheet = book.create_sheet(_sheet_name(table.title, used))
        sheet.append(sheet_row(sheet, [table.title, period_label(report.period),
                                       gettext("compared with %(period)s", period=period_label(report.previous))]))
        sheet.append(sheet_row(sheet, [_export_title(c) for c in table.columns]))
        for row in table.rows:
            sheet.append(sheet_row(sheet, [exported(cell) for cell in row]))
    out = io.BytesIO()
    book.save(out)
    return Response(out.getvalue(), mimetype=XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="{_filename(report)}.xlsx"'})


def _filename(report: reports.Report) -> str:
    scope = f"-{report.department}" if report.department else ""
    return f"complaints-{report.kind}-{report.period.first_day.isoformat()}{scope}"


def _sheet_name(title: str, used: set[str]) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, unique in the book."""
    base = "".join("_" if ch in '[]:*?/\\' else ch for ch in title)[:28] or "sheet"
    name, n = base, 2
    while name in used:
        name, n = f"{base[:26]}-{n}", n + 1
    used.add(name)
    return name
