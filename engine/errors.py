"""Errors the service layer raises; entry points map them to HTTP statuses or exit codes."""
from __future__ import annotations


class ServiceError(Exception):
    """Base of the errors a use case reports to its caller."""


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not visible to the caller)."""


class Forbidden(ServiceError):
    """The caller's role or department does not allow this action."""


class Conflict(ServiceError):
    """Stale, duplicate or concurrent submission: nothing was changed."""


class InvalidInput(ServiceError):
    """Input failed validation. `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]], message: str = "invalid input"):
        super().__init__(message + ": " + "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()))
        self.errors = errors
