"""The modelling tests use the web tests' app and sign-in fixtures."""
from tests.web.conftest import _catalogues, app, client, login  # noqa: F401
