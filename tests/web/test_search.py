"""Search filters, paging, department isolation and the CSV export."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from engine import clock
from tests.lifecycle import start, step
from tests.web.conftest import text_of


def _references(html: str) -> set[str]:
    import re

    return set(re.findall(r">(TS\d{8}-\d{6})</a>", html))


def _seed(system):
    a_id = start(system, customer_name="张三", order_id="ORD-777").complaint_id
    step(system, a_id, "judge_validity")  # routed to logistics
    a = _ref(system, a_id)
    clock.advance(timedelta(days=2))
    b_id = start(system, category="product_quality", level="major", channel="web",
                 customer_contact="li@example.com").complaint_id
    step(system, b_id, "judge_validity", valid=False, validity_reason="不成立")
    step(system, b_id, "reply_not_valid")
    c = start(system, category="invoice", description="发票抬头写错了").reference
    return a, _ref(system, b_id), c


def _ref(system, cid):
    from engine.db import UnitOfWork
    from engine.models import Complaint

    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.get(Complaint, cid).reference


def test_filters(system, login):
    a, b, c = _seed(system)
    gm = login("gm")
    assert _references(text_of(gm.get("/search"))) == {a, b, c}
    assert _references(gm.get("/search?status=closed").get_data(as_text=True)) == {b}
    assert _references(gm.get("/search?level=major").get_data(as_text=True)) == {b}
    assert _references(gm.get("/search?category=invoice").get_data(as_text=True)) == {c}
    assert _references(gm.get("/search?channel=web").get_data(as_text=True)) == {b}
    assert _references(gm.get("/search?department=logistics").get_data(as_text=True)) == {a}
    assert _references(gm.get("/search?q=张三").get_data(as_text=True)) == {a}
    assert _references(gm.get("/search?q=ord-777").get_data(as_text=True)) == {a}
    assert _references(gm.get("/search?q=li@example").get_data(as_text=True)) == {b}
    assert _references(gm.get("/search?q=抬头").get_data(as_text=True)) == {c}
    assert _references(gm.get(f"/search?q={b}").get_data(as_text=True)) == {b}
    assert _references(gm.get("/search?q=100%25").get_data(as_text=True)) == set()
    assert _references(gm.get("/search?created_to=2026-11-23").get_data(as_text=True)) == {a}
    assert _references(gm.get("/search?created_from=2026-11-24").get_data(as_text=True)) == {b, c}
    bad = gm.get("/search?created_from=yesterday")
    assert bad.status_code == 200 and _references(bad.get_data(as_text=True)) == set()


def test_paging(system, login):
    for _ in range(27):
        start(system)
    gm = login("gm")
    first = text_of(gm.get("/search"))
    assert len(_references(first)) == 25 and "第 1 页，共 2 页" in first
    assert len(_references(gm.get("/search?page=2").get_data(as_text=True))) == 2


def test_csv_export(system, login):
    a, b, c = _seed(system)
    start(system, customer_name="=HYPERLINK(\"http://x\")", customer_contact="+86 138 0000 0000")
    response = login("gm").get("/search.csv?category=logistics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["投诉编号", "受理时间", "状态"] and rows[0][-1] == "登记时间"
    assert [r[0] for r in rows[1:]][0] == a and len(rows) == 3
    assert rows[1][4:8] == ["不满意", "物流", "储运部", "电话"]
    assert rows[2][8] == "'=HYPERLINK(\"http://x\")" and rows[2][9] == "+86 138 0000 0000"
    english = login("gm", "en").get("/search.csv?status=closed")
    rows = list(csv.reader(io.StringIO(english.data.decode("utf-8-sig"))))
    assert rows[0][0] == "Reference" and rows[1][0] == b and rows[1][2] == "Closed"


def test_department_head_search_is_limited(system, login):
    a, b, c = _seed(system)
    head = login("head_logistics")
    assert _references(text_of(head.get("/search"))) == {a}
    assert _references(head.get("/search?department=quality").get_data(as_text=True)) == {a}
    rows = list(csv.reader(io.StringIO(head.get("/search.csv").data.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [a]
