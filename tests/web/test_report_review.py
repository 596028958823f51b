"""Reports reach the general manager and the departments (issue 17): submitted by the agents, signed by the
general manager with comments, sent to every department head in their language, acknowledged; the complaint
rate from order volumes entered or imported per period, shown only where a volume exists."""
from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from sqlalchemy import select

from engine.db import UnitOfWork
from engine.models import Notification, OrderVolume, ReportAcknowledgement, User
from tests.lifecycle import start
from tests.web.conftest import text_of
from web import mail

MONTH = {"kind": "month", "date": "2026-11-10"}
PAGE = "/reports?kind=month&date=2026-11-10"


def _outbox(system, kind: str) -> list[tuple[str, dict]]:
    with UnitOfWork(system.db, write=False) as uow:
        return [(u, p) for u, p in uow.session.execute(
            select(User.username, Notification.params).join(User, User.id == Notification.user_id)
            .where(Notification.kind == kind).order_by(User.username))]


def test_a_report_goes_gm_then_departments_and_is_acknowledged(system, login):
    agent, gm, head = login("agent1", locale="en"), login("gm", locale="en"), login("head_logistics", locale="zh")
    assert gm.post("/reports/review/sign", data=dict(MONTH, comment="ok")).status_code == 409  # nothing submitted
    response = agent.post("/reports/review/submit", data=dict(MONTH, summary="物流破损占比上升，建议加强包装"))
    assert response.status_code == 302 and response.headers["Location"].endswith("#review")
    assert [u for u, _ in _outbox(system, "report_submitted")] == ["gm"]
    page = text_of(gm.get(PAGE))
    assert "Waiting for the general manager" in page and "物流破损占比上升" in page
    assert agent.post("/reports/review/sign", data=dict(MONTH, comment="x")).status_code == 403
    assert gm.post("/reports/review/submit", data=dict(MONTH, summary="x")).status_code == 403
    blank = gm.post("/reports/review/sign", data=dict(MONTH, comment=" "), follow_redirects=True)
    assert "General manager&#39;s comments: " in blank.get_data(as_text=True)
    assert gm.post("/reports/review/sign", data=dict(MONTH, comment="同意，储运部本月内整改")).status_code == 302
    sent = _outbox(system, "report_sent")
    heads = ["head_after_sales", "head_cs", "head_logistics", "head_quality", "head_sales"]
    assert [u for u, _ in sent] == heads
    subject, body = mail.render("report_sent", sent[0][1], "zh", ZoneInfo("Asia/Shanghai"))
    assert "2026-11-01" in subject
    assert "同意，储运部本月内整改" in body
    # Signed: it can no longer be submitted again.
    assert agent.post("/reports/review/submit", data=dict(MONTH, summary="改")).status_code == 409
    assert head.post("/reports/review/acknowledge", data=MONTH).status_code == 302
    assert head.post("/reports/review/acknowledge", data=MONTH).status_code == 302  # a repeat changes nothing
    with UnitOfWork(system.db, write=False) as uow:
        acknowledged = dict(uow.session.execute(
            select(User.username, ReportAcknowledgement.acknowledged_at)
            .join(User, User.id == ReportAcknowledgement.user_id)).all())
    assert set(acknowledged) == set(heads)
    assert acknowledged["head_logistics"] is not None
    assert all(at is None for user, at in acknowledged.items() if user != "head_logistics")
    page = text_of(gm.get(PAGE))
    assert "Signed and sent to the departments" in page and "同意，储运部本月内整改" in page
    assert page.count("not yet") == 4
    # Someone who got no copy cannot acknowledge it.
    assert login("agent2").post("/reports/review/acknowledge", data=MONTH).status_code == 403


def test_complaint_rate_only_where_a_volume_exists(system, login):
    for _ in range(3):
        start(system)
    manager = login("cs_manager", locale="en")
    assert "No order volume entered for this period" in text_of(manager.get(PAGE))
    assert manager.post("/reports/volume", data=dict(MONTH, orders="2,000")).status_code == 302
    page = text_of(manager.get(PAGE))
    assert "3 complaints in 2000 orders: 1.50 per thousand orders." in page
    assert "No order volume entered" in text_of(manager.get("/reports?kind=week&date=2026-11-23"))
    bad = manager.post("/reports/volume", data=dict(MONTH, orders="many"), follow_redirects=True)
    assert "Orders in the period: " in bad.get_data(as_text=True)
    assert login("agent1").post("/reports/volume", data=dict(MONTH, orders="5")).status_code == 403


def test_volumes_imported_from_csv_all_or_nothing(system, login):
    manager = login("cs_manager", locale="en")
    bad = "kind,day,orders\nmonth,2026-10-05,1500\nweek,2026-11-23,lots\n"
    page = manager.post("/reports/volumes/import", data=dict(MONTH, file=(io.BytesIO(bad.encode()), "v.csv")),
                        content_type="multipart/form-data", follow_redirects=True).get_data(as_text=True)
    assert "line 3: " in page
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalars(select(OrderVolume)).all() == []
    good = "\ufeffkind,day,orders\nmonth,2026-10-05,1500\nweek,2026-11-25,400\n"
    assert manager.post("/reports/volumes/import", data=dict(MONTH, file=(io.BytesIO(good.encode()), "v.csv")),
                        content_type="multipart/form-data").status_code == 302
    with UnitOfWork(system.db, write=False) as uow:
        stored = {(v.kind, v.first_day.isoformat(), v.orders) for v in uow.session.scalars(select(OrderVolume))}
    assert stored == {("month", "2026-10-01", 1500), ("week", "2026-11-23", 400)}
