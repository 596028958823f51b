"""The IMAP server of the mail tests: one Dovecot per test process, a fresh mailbox for each test."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.workers.imap_server import Dovecot, ImapServer, dovecot


@pytest.fixture(scope="session")
def _dovecot() -> Iterator[Dovecot]:
    with dovecot() as server:
        yield server


@pytest.fixture
def imap(_dovecot: Dovecot) -> ImapServer:
    """An empty mailbox of its own on the process's IMAP server."""
    return _dovecot.mailbox()
