"""The report pages: both languages, charts and tables, department scope, CSV, Excel and print view."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime

import pytest
from openpyxl import load_workbook

from tests.reports.conftest import TZ, generated
from tests.web.conftest import text_of


@pytest.fixture
def data(system):
    return generated(system, 300, datetime(2026, 10, 1, tzinfo=TZ), seed=3)


def in_november(rows, department=None):
    start, end = datetime(2026, 11, 1, tzinfo=TZ), datetime(2026, 12, 1, tzinfo=TZ)
    return [r for r in rows if start <= r["created_at"] < end and department in (None, r["department"])]


@pytest.mark.parametrize("locale, words", [("zh", ["月报", "按投诉类别", "首次响应时间", "物流"]),
                                           ("en", ["Monthly report", "By category", "Time to first response"])])
def test_monthly_report_page_in_both_languages(login, data, locale, words):
    page = login("gm", locale).get("/reports?kind=month&date=2026-11-10")
    html = text_of(page)
    assert page.status_code == 200
    for word in words:
        assert word in html
    assert html.count("<svg") >= 5 and "<script" not in html.split("<main>")[1].split("</main>")[0]
    assert f">{len(in_november(data.complaints))}<" in html


def test_nav_link_and_who_may_read(login, data):
    assert "/reports" in login("agent1").get("/tasks/mine").get_data(as_text=True)
    assert "/reports" not in login("owner").get("/search").get_data(as_text=True)
    assert login("owner").get("/reports").status_code == 403
    head = login("head_logistics")
    html = text_of(head.get("/reports?date=2026-11-10"))
    assert f">{len(in_november(data.complaints, 'logistics'))}<" in html
    assert head.get("/reports?department=quality").status_code == 403
    assert login("gm").get("/reports?kind=decade").status_code == 422
    assert login("gm").get("/reports?date=yesterday").status_code == 422


def test_week_and_year_and_print_view(login, data):
    gm = login("gm")
    assert "周报" in text_of(gm.get("/reports?kind=week&date=2026-11-18"))
    printable = text_of(gm.get("/reports?kind=year&date=2026-11-18&print=1"))
    assert "年报" in printable and 'class="top"' not in printable and 'class="printable"' in printable
    # The print rules live in the stylesheets the page links (the CSP allows no inline styles).
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', printable)
    assert any("@media print" in gm.get(sheet).get_data(as_text=True) for sheet in sheets), sheets


def test_csv_export(login, data):
    response = login("gm", "en").get("/reports/export.csv?kind=month&date=2026-11-10")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "complaints-month-2026-11-01.csv" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    new = next(r for r in rows if r and r[0] == "New complaints")
    assert int(new[1]) == len(in_november(data.complaints))
    assert ["By category"] in rows and ["Time to first response"] in rows


def test_excel_export(login, data):
    response = login("gm").get("/reports/export.xlsx?kind=month&date=2026-11-10&department=logistics")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert "概况" in book.sheetnames and len(book.sheetnames) >= 10
    summary = list(book["概况"].iter_rows(values_only=True))
    assert summary[2][:2] == ("新增投诉", len(in_november(data.complaints, "logistics")))
