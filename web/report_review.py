"""The report's way to the general manager and the departments, and the order volumes (web side of
`engine.complaints.report_review`): every step is a form on the report page that comes back to it."""
from __future__ import annotations

from datetime import date

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from engine.complaints import report_review
from engine.errors import InvalidInput
from forms.errors import FormCode
from web.context import actor, staff_blueprint, writing
from web.i18n import field_errors, tz

bp = staff_blueprint("report_review", __name__)

#: The largest volume file read (a line per period: a few kilobytes are years of them).
MAX_CSV_BYTES = 256 * 1024
FIELD_NAMES = {"summary": _l("Summary and suggestions"), "comment": _l("General manager's comments"),
               "orders": _l("Orders in the period"), "file": _l("CSV file"), "date": _l("Date")}


def _period() -> tuple[str, date]:
    kind = request.form.get("kind", "")
    try:
        day = date.fromisoformat(request.form.get("date", ""))
    except ValueError as err:
        raise InvalidInput.field("date", FormCode.NOT_A_DATE) from err
    return kind, day


def _back(kind: str, day: date):
    return redirect(url_for("reports.index", kind=kind, date=day.isoformat(), _anchor="review"))


def _run(step, message: str):
    kind, day = _period()
    try:
        with writing() as uow:
            step(uow, kind, day)
    except InvalidInput as err:
        for name, texts in field_errors(err.errors).items():
            flash(f"{FIELD_NAMES.get(name, name)}: {' '.join(texts)}", "error")
        return _back(kind, day)
    flash(message, "success")
    return _back(kind, day)


@bp.post("/reports/review/submit")
def submit():
    """The agent team submits the period's report to the general manager."""
    report_review.check_can_submit(actor())  # the role first, before the input is read
    return _run(lambda uow, kind, day: report_review.submit(uow, actor(), kind, day, tz(),
                                                            request.form.get("summary")),
                _("The report was submitted to the general manager."))


@bp.post("/reports/review/sign")
def sign():
    """The general manager signs with comments; the report goes to every department head."""
    report_review.check_can_sign(actor())
    return _run(lambda uow, kind, day: report_review.sign(uow, actor(), kind, day, tz(), request.form.get("comment")),
                _("The report was signed and sent to every department head."))


@bp.post("/reports/review/acknowledge")
def acknowledge():
    """A department head confirms they have read the signed report."""
    return _run(lambda uow, kind, day: report_review.acknowledge(uow, actor(), kind, day, tz()),
                _("You acknowledged the report."))


@bp.post("/reports/volume")
def volume():
    """Enter the period's order volume."""
    report_review.check_can_keep_volumes(actor())
    return _run(lambda uow, kind, day: report_review.set_volume(uow, actor(), kind, day, tz(),
                                                                request.form.get("orders")),
                _("The order volume was saved."))


@bp.post("/reports/volumes/import")
def import_volumes():
    """Import order volumes from a CSV file (kind,day,orders per line)."""
    report_review.check_can_keep_volumes(actor())  # the role first: a refused role learns nothing more
    upload = request.files.get("file")
    raw = upload.read(MAX_CSV_BYTES + 1) if upload else b""

    def step(uow, _kind, _day):
        if not raw:
            raise InvalidInput.field("file", FormCode.REQUIRED)
        if len(raw) > MAX_CSV_BYTES:
            raise InvalidInput.field("file", FormCode.TOO_LONG, max=MAX_CSV_BYTES)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise InvalidInput.field("file", FormCode.BAD_FORMAT, format="UTF-8 CSV") from err
        report_review.import_volumes(uow, actor(), text, tz())

    return _run(step, _("The order volumes were imported."))
