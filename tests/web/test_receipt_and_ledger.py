"""受理时间 on every entry point (page, API, command line), one receipt time shown everywhere, and the penalty
ledger's decided deductions in the complaint and the reports (docs/data-dictionary.md)."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from engine import clock
from engine.complaints import casework, reports
from engine.db import UnitOfWork
from engine.models import Complaint, Penalty
from tests.lifecycle import INTAKE, start, step
from web.cli import main as cli

CN = ZoneInfo("Asia/Shanghai")


def page_text(response) -> str:
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_intake_page_refuses_a_receipt_time_in_the_future_naming_the_field(system, login):
    agent = login("agent1")
    ahead = (clock.now() + timedelta(hours=1)).astimezone(CN).strftime("%Y-%m-%dT%H:%M")
    response = agent.post("/complaints/new", data=dict(INTAKE, received_at=ahead))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="field-received_at"' in html and "时间不能晚于现在" in html
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalar(select(Complaint.id)) is None


def test_the_command_line_refuses_with_exit_2_and_show_lists_due_times(system, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", system.settings.database_url)
    monkeypatch.setenv("COMPLAINTS_INSTANCE", str(system.settings.instance_dir))
    runner = CliRunner()
    ahead = (clock.now() + timedelta(minutes=10)).isoformat()
    refused = runner.invoke(cli, ["start", "--user", "agent1", "--json"],
                            input=json.dumps(dict(INTAKE, received_at=ahead)))
    assert refused.exit_code == 2 and "received_at" in refused.output
    received = clock.now() - timedelta(minutes=3)
    started = runner.invoke(cli, ["start", "--user", "agent1", "--json"],
                            input=json.dumps(dict(INTAKE, received_at=received.isoformat())))
    assert started.exit_code == 0, started.output
    cid = json.loads(started.stdout)["complaint_id"]
    shown = runner.invoke(cli, ["show", str(cid), "--user", "gm", "--json"])
    details = json.loads(shown.stdout)
    assert details["received_at"] == received.isoformat() and details["created_at"] == clock.now().isoformat()
    assert [(t["task"], t["due_at"]) for t in details["open_tasks"]] == [
        ("judge_validity", (received + timedelta(minutes=30)).isoformat())]


def test_one_receipt_time_on_the_page_in_search_and_export(system, login):
    received = clock.now() - timedelta(hours=2)
    cid = start(system, received_at=received.isoformat()).complaint_id
    gm = login("gm")
    page = page_text(gm.get(f"/complaints/{cid}"))
    assert "受理时间 2026-11-23 15:00" in page and "登记时间 2026-11-23 17:00" in page
    assert "2026-11-23 15:00" in page_text(gm.get("/search"))
    rows = list(csv.reader(io.StringIO(gm.get("/search.csv").data.decode("utf-8-sig"))))
    assert rows[1][1] == "2026-11-23 15:00" and rows[1][-1] == "2026-11-23 17:00"
    # A complaint received before midnight belongs to that day in search, whenever it was typed in.
    assert "2026-11-23 15:00" in page_text(gm.get("/search?created_from=2026-11-23&created_to=2026-11-23"))


def test_reports_count_a_complaint_in_the_week_it_was_received_and_time_its_response_from_then(system):
    received = datetime(2026, 11, 22, 23, 30, tzinfo=CN)  # Sunday night; typed in on Monday at 17:00
    cid = start(system, received_at=received.isoformat()).complaint_id
    clock.advance(timedelta(minutes=5))
    step(system, cid, "judge_validity")
    with UnitOfWork(system.db, write=False) as uow:
        sunday_week = reports.build_report(uow, system.actor("gm"), "week", date(2026, 11, 22), CN)
        monday_week = reports.build_report(uow, system.actor("gm"), "week", date(2026, 11, 23), CN)
    assert (sunday_week.total.current, monday_week.total.current, monday_week.total.previous) == (1, 0, 1)
    response = next(r for r in sunday_week.first_response if r.level == "dissatisfied")
    assert response.median.current == (clock.now() - received).total_seconds()  # 17 h 35 min, not 5 min
    assert (response.within_limit.current, response.breached.current) == (0, 1)


def _walk_with_deductions(system) -> int:
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution"):
        step(system, cid, task)
    step(system, cid, "implement_solution", responsible_penalty=200, responsible_penalty_reason="包装不合格造成破损")
    step(system, cid, "follow_up")
    step(system, cid, "cs_sign_off")
    step(system, cid, "gm_review", supervisor_penalty=100, supervisor_penalty_reason="部门管理不到位")
    return cid


def test_decided_deductions_are_ledger_entries_in_the_complaint_and_the_reports(system, login):
    cid = _walk_with_deductions(system)
    with UnitOfWork(system.db, write=False) as uow:
        ledger = casework.complaint_details(uow, system.actor("gm"), cid)["breaches"]
        rows = list(uow.session.scalars(select(Penalty).where(Penalty.complaint_id == cid).order_by(Penalty.id)))
    assert [(e["kind"], e["person"], e["amount"], e["reason"], e["decided_by"]) for e in ledger] == [
        ("responsible", "承运商A", 200, "包装不合格造成破损", "head_logistics"),
        ("supervisor", "head_logistics", 100, "部门管理不到位", "gm")]
    assert all(r.department == "logistics" and r.timer_id is None and r.deadline is None for r in rows)
    with UnitOfWork(system.db, write=False) as uow:
        report = reports.build_report(uow, system.actor("gm"), "month", date(2026, 11, 23), CN)
    by_person = {r.key: (r.breaches.current, r.amount.current) for r in report.penalties_by_person}
    assert by_person == {"承运商A": (0, 200), "head_logistics": (0, 100)}
    assert [(r.key, r.amount.current) for r in report.penalties_by_department] == [("logistics", 300)]
    assert report.penalty_amount.current == 300 and report.breaches.current == 0
    complaint_page = page_text(login("gm").get(f"/complaints/{cid}"))
    ledger = complaint_page[complaint_page.index('id="ledger"'):]
    assert "直接责任人扣罚" in ledger and "承运商A" in ledger and "200 元" in ledger and "包装不合格造成破损" in ledger
    assert "部门主管扣罚" in ledger and "100 元" in ledger
    shown = page_text(login("gm").get("/reports?kind=month&date=2026-11-23"))
    assert "按人员统计超时与扣罚" in shown and "承运商A" in shown and "300 元" in shown and "¥" not in shown
    exported = login("gm").get("/reports/export.csv?kind=month&date=2026-11-23").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(exported)))
    by_person, by_department = rows.index(["按人员统计超时与扣罚"]), rows.index(["按部门统计超时与扣罚"])
    assert ["承运商A", "储运部", "0"] == rows[by_person + 2][:3] and "200" in rows[by_person + 2]
    assert rows[by_department + 2][0] == "储运部" and "300" in rows[by_department + 2]
    book = load_workbook(io.BytesIO(login("gm").get("/reports/export.xlsx?kind=month&date=2026-11-23").data))
    cells = {v for sheet in book for row in sheet.iter_rows(values_only=True) for v in row if v is not None}
    assert {"按人员统计超时与扣罚", "按部门统计超时与扣罚", "承运商A", 300} <= cells


def test_no_deduction_no_entry(system):
    cid = start(system).complaint_id
    for task in ("judge_validity", "hand_over", "analyse_and_propose", "approve_solution", "implement_solution"):
        step(system, cid, task)
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalar(select(Penalty.id).where(Penalty.complaint_id == cid)) is None


def test_deadlines_read_as_a_time_and_a_countdown_on_the_program_clock(system, login):
    cid = start(system).complaint_id  # 17:00 in China; the first response is due in 30 minutes
    agent = login("agent1")
    listed = page_text(agent.get("/tasks/mine"))
    assert "今天 17:30 前" in listed and "剩余 30 分钟" in listed
    clock.advance(timedelta(minutes=45))
    shown = page_text(agent.get(f"/complaints/{cid}"))
    assert "今天 17:30 前" in shown and "已超时 15 分钟" in shown
    assert f'data-now="{clock.now().isoformat()}"' in shown  # the page's countdown runs on the server's clock
    for task in ("judge_validity", "hand_over", "analyse_and_propose"):
        step(system, cid, task, user=None)
    english = login("gm", "en")
    page = page_text(english.get("/tasks/queue"))
    assert "by tomorrow 10:" in page  # the approval: two working hours, the working day ends at 17:30
