"""The API refuses a time of receipt out of bounds with the field named (docs/data-dictionary.md)."""
from __future__ import annotations

from datetime import timedelta

from engine import clock
from tests.api.conftest import problem
from tests.lifecycle import INTAKE


def test_the_api_refuses_a_receipt_time_too_long_ago(system, api):
    old = (clock.now() - timedelta(days=8)).isoformat()
    body = problem(api("agent1").post("/api/v1/complaints", json=dict(INTAKE, received_at=old)), 422)
    assert "received_at" in body["errors"]
