"""The API refuses a time of receipt out of bounds with the field named (docs/data-dictionary.md)."""
from __future__ import annotations

from datetime import timedelta

from engine import clock
from engine.complaints import timers
from tests.api.conftest import problem
from tests.lifecycle import INTAKE


def test_the_api_refuses_a_receipt_time_too_long_ago(system, api):
    old = (clock.now() - timedelta(days=8)).isoformat()
    body = problem(api("agent1").post("/api/v1/complaints", json=dict(INTAKE, received_at=old)), 422)
    assert "received_at" in body["errors"]


def test_the_api_gives_the_receipt_time_and_the_ledger(system, api):
    received = clock.now() - timedelta(minutes=40)  # recorded after its 30-minute first response limit
    created = api("agent1").post("/api/v1/complaints", json=dict(INTAKE, received_at=received.isoformat()),
                                 headers={"Idempotency-Key": "receipt-1"})
    assert created.status_code == 201, created.get_data(as_text=True)
    cid = created.get_json()["complaint_id"]
    timers.run_due(system.db)
    body = api("gm").get(f"/api/v1/complaints/{cid}").get_json()
    assert body["received_at"] == received.isoformat() and body["created_at"] == clock.now().isoformat()
    assert [(b["kind"], b["task"], b["amount"], b["deadline"]) for b in body["breaches"]] == [
        ("timeout", "judge_validity", 20, (received + timedelta(minutes=30)).isoformat())]
