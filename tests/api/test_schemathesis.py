"""Property-based run of the whole API from its OpenAPI document (schemathesis, in-process WSGI):
whatever is sent, the answer is never a server error and always matches the document.

The cases are drawn through hypothesis directly (schemathesis's pytest plugin does not load with
this pytest), a bounded number per operation. "Schema-valid data is accepted" is not checked: the
intake and task forms belong to the model and are documented as free-form objects, and some rules are
not expressible in the document (a deferral's new deadline must lie in the future, text must not be
blank).
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from engine.db import UnitOfWork
from engine.people import tokens as api_tokens
from engine.people.roles import SYSTEM
from tests.conftest import examples
from tests.lifecycle import start
from web import create_app

EXAMPLES = 20


def test_no_server_errors_and_answers_match_the_document(system):
    start(system)  # something to list, read and work on
    app = create_app(system.settings, system.db)
    app.config.update(TESTING=True)
    tokens = {}
    for user in ("cs_manager", "owner"):
        with UnitOfWork(system.db) as uow:
            tokens[user] = api_tokens.create_token(uow, SYSTEM, user, "schemathesis")[1]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:
        user = "owner" if "/process-models" in operation.path else "cs_manager"
        headers = {"Authorization": f"Bearer {tokens[user]}"}

        @given(case=operation.as_strategy())
        @settings(max_examples=examples(EXAMPLES), suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        call()
