"""Reports: the weekly, monthly or yearly analysis as data."""
from __future__ import annotations

from engine import clock
from engine.complaints import reports
from web.api import schemas
from web.api.core import actor, operation
from web.context import reading_reports, state
from web.i18n import tz


@operation("/reports/<any(week, month, year):kind>", "GET", tag="reports",
           summary="The analysis report of a week, month or year",
           description="Each figure with the previous period's, the change and the change in per cent. "
                       "Periods are calendar weeks (from Monday), months and years in China time.",
           query=schemas.ReportQuery, response=schemas.ReportDoc, errors=(403,))
def get_report(kind: str, query: dict):
    zone = tz()
    day = query.get("date") or clock.now().astimezone(zone).date()
    with reading_reports() as uow:
        return reports.build_report(uow, actor(), kind, day, zone, query.get("department"),
                                    state().settings.process_id)
