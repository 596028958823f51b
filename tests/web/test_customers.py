"""Customer records (issue 17): matched at intake across spellings of the same phone number, looked up while
typing, the repeat-complainant rule from workflows/customer_policy.dmn, the customer's history, merging."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.complaints import customers
from engine.db import UnitOfWork
from engine.errors import Conflict, Forbidden
from engine.models import AuditEvent, Complaint, Customer
from tests.lifecycle import INTAKE, start
from tests.web.conftest import text_of


def _customer_of(system, complaint_id: int) -> int | None:
    with UnitOfWork(system.db, write=False) as uow:
        return uow.session.get(Complaint, complaint_id).customer_record_id


def _customer(system, customer_id: int) -> Customer:
    with UnitOfWork(system.db, write=False) as uow:
        customer = uow.session.get(Customer, customer_id)
        uow.session.expunge(customer)
        return customer


@pytest.mark.parametrize(("typed", "expected"), [
    ("+86 138-0013-8000", "13800138000"), ("13800138000", "13800138000"), ("138 0013 8000", "13800138000"),
    ("0086 138 0013 8000", "13800138000"), ("+86 10 6512 3456", "01065123456"), ("010-6512 3456", "01065123456"),
    ("li@example.com", None), ("12", None)])
def test_phone_numbers_are_normalised(typed, expected):
    assert customers.normalise_phone(typed) == expected


def test_the_same_phone_in_three_formats_is_one_customer(system, login):
    agent = login("agent1")
    ids = []
    for typed in ("+86 138-0013-8000", "13800138000", "138 0013 8000"):
        response = agent.post("/complaints/new", data=dict(INTAKE, customer_contact=typed, customer_name="王芳"))
        assert response.status_code == 302, response.get_data(as_text=True)
        ids.append(int(response.headers["Location"].rsplit("/", 1)[1]))
    owners = {_customer_of(system, i) for i in ids}
    assert len(owners) == 1 and None not in owners
    customer = _customer(system, owners.pop())
    assert (customer.phone, customer.name) == ("13800138000", "王芳")
    with UnitOfWork(system.db, write=False) as uow:
        assert uow.session.scalar(select(func.count(Customer.id))) == 1


def test_an_email_and_a_platform_account_find_the_customer(system):
    first = start(system, customer_contact="Li.Na@Example.com", customer_id="tb_lina88").complaint_id
    second = start(system, customer_contact="LI.NA@example.com").complaint_id
    third = start(system, customer_contact="13900001111", customer_id="tb_lina88").complaint_id
    owner = _customer_of(system, first)
    assert _customer_of(system, second) == owner == _customer_of(system, third)
    customer = _customer(system, owner)
    # The phone given later is added to the record the platform account found.
    assert (customer.email, customer.platform_id, customer.phone) == ("li.na@example.com", "tb_lina88",
                                                                      "13900001111")


def test_third_complaint_in_30_days_flags_a_repeat_complainant(system, login):
    start(system, customer_contact="13800138000")
    clock.advance(timedelta(days=20))
    second = start(system, customer_contact="+86 13800138000").complaint_id
    assert _customer(system, _customer_of(system, second)).flag is None
    clock.advance(timedelta(days=9))
    third = start(system, customer_contact="138-0013-8000").complaint_id
    customer = _customer(system, _customer_of(system, third))
    assert customer.flag == customers.REPEAT
    with UnitOfWork(system.db, write=False) as uow:
        kinds = list(uow.session.scalars(select(AuditEvent.kind).where(AuditEvent.complaint_id == third)))
    assert "customer_flagged" in kinds
    # The look-up the intake page makes shows the flag and the history.
    found = login("agent1").get("/customers/lookup?contact=138%200013%208000").get_json()["customer"]
    assert found["flag"] == "repeat" and found["complaints"] == 3 and len(found["recent"]) == 3
    assert found["url"] == f"/customers/{customer.id}"


def test_complaints_spread_beyond_the_window_do_not_flag(system):
    start(system, customer_contact="13800138000")
    clock.advance(timedelta(days=16))
    start(system, customer_contact="13800138000")
    clock.advance(timedelta(days=16))
    last = start(system, customer_contact="13800138000").complaint_id
    assert _customer(system, _customer_of(system, last)).flag is None


def test_lookup_of_an_unknown_number(system, login):
    start(system, customer_contact="13800138000")
    agent = login("agent1")
    assert agent.get("/customers/lookup?contact=13900000000").get_json() == {"customer": None}
    assert agent.get("/customers/lookup").get_json() == {"customer": None}


def test_history_page_and_the_link_from_the_complaint(system, login):
    a = start(system, customer_contact="13800138000").reference
    b_id = start(system, customer_contact="+86 138 0013 8000", category="invoice").complaint_id
    customer_id = _customer_of(system, b_id)
    cs = login("cs_manager", locale="zh")
    page = text_of(cs.get(f"/complaints/{b_id}"))
    assert f'href="/customers/{customer_id}"' in page
    history = text_of(cs.get(f"/customers/{customer_id}"))
    assert a in history and "13800138000" in history
    assert text_of(login("gm", locale="en").get(f"/customers/{customer_id}")).count("/complaints/") >= 2
    assert login("owner").get(f"/customers/{customer_id}").status_code == 403
    assert cs.get("/customers/999999").status_code == 404


def test_intake_page_loads_the_lookup_script(system, login):
    page = text_of(login("agent1").get("/complaints/new"))
    assert 'id="customer-lookup"' in page and "/static/js/customer_lookup.js" in page and "<script>" not in page


def test_merge_moves_complaints_and_keys(system, login):
    landline = start(system, customer_contact="010-6512 3456", customer_name="赵六").complaint_id
    mobile = start(system, customer_contact="13700001234", customer_name="赵六").complaint_id
    keep, duplicate = _customer_of(system, mobile), _customer_of(system, landline)
    assert keep != duplicate
    agent = login("agent1")
    response = agent.post(f"/customers/{keep}/merge", data={"duplicate": str(duplicate)})
    assert response.status_code == 302
    assert _customer_of(system, landline) == keep
    kept = _customer(system, keep)
    assert (kept.phone, _customer(system, duplicate).merged_into_id) == ("13700001234", keep)
    # The duplicate's keys still find the survivor, at intake and in the look-up.
    again = start(system, customer_contact="+86 10 6512 3456").complaint_id
    assert _customer_of(system, again) == keep
    assert agent.get("/customers/lookup?contact=01065123456").get_json()["customer"]["id"] == keep
    assert agent.get(f"/customers/{duplicate}").status_code == 200  # shown as the survivor
    with UnitOfWork(system.db, write=False) as uow:
        assert "customer_merged" in uow.session.scalars(
            select(AuditEvent.kind).where(AuditEvent.complaint_id == landline)).all()
    assert agent.post(f"/customers/{keep}/merge", data={"duplicate": str(duplicate)}).status_code == 409
    assert agent.post(f"/customers/{keep}/merge", data={"duplicate": "abc"}).status_code == 422
    assert login("gm").post(f"/customers/{keep}/merge", data={"duplicate": str(duplicate)}).status_code == 403


def test_merge_refusals_in_the_engine(system):
    one = _customer_of(system, start(system, customer_contact="13800138000").complaint_id)
    with UnitOfWork(system.db) as uow, pytest.raises(Conflict):
        customers.merge(uow, system.actor("agent1"), one, one)
    with UnitOfWork(system.db) as uow, pytest.raises(Forbidden):
        customers.merge(uow, system.actor("head_logistics"), one, one)
