"""The `complaints` command run as a user runs it (subprocesses); some tests check its effect through the API."""
from tests.api.conftest import app, client  # noqa: F401
