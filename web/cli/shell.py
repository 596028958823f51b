"""What every command shares: the settings and database of one invocation, stdin as JSON, output as text or
JSON, and refusals as exit status (0 done, 2 invalid input, 3 conflict, 4 forbidden)."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from engine.bootstrap import connect
from engine.complaints.stored_failures import StoredFailure
from engine.config import load_settings
from engine.db import UnitOfWork
from engine.errors import Code, Conflict, Forbidden, InvalidInput, NotFound, ServiceError
from engine.people import users as staff
from engine.people.roles import ADMIN, Actor
from engine.workflow.model_xml import ModelInvalid
from web import messages

EXIT_INVALID, EXIT_CONFLICT, EXIT_FORBIDDEN = 2, 3, 4
#: The shell operator, when no --user is given for a read-only command.
OPERATOR = Actor(id=None, username="cli", role=ADMIN)


class Context:
    """The settings of one invocation and its database, connected on first use."""

    def __init__(self) -> None:
        self.settings = load_settings()
        self._db = None

    @property
    def db(self):
        if self._db is None:
            self._db = connect(self.settings)
        return self._db


pass_ctx = click.make_pass_decorator(Context, ensure=True)


def fail(err: Exception, as_json: bool) -> None:
    """Print why the command failed (in English, or as JSON) and exit with the status its kind calls for."""
    # isinstance, not type: subclasses (a model failing while it runs is InvalidInput) keep their status
    code = next((status for kind, status in ((InvalidInput, EXIT_INVALID), (NotFound, EXIT_INVALID),
                                             (Conflict, EXIT_CONFLICT), (Forbidden, EXIT_FORBIDDEN),
                                             (ModelInvalid, EXIT_INVALID)) if isinstance(err, kind)), 1)
    english = messages.in_locale("en")
    text = messages.error_text(err, english) if isinstance(err, ServiceError) else str(err)
    if isinstance(err, ModelInvalid):
        text = "\n".join(messages.problem_line(p.as_dict(), english, detail=True) for p in err.problems)
    if as_json:
        body: dict = {"error": type(err).__name__, "message": text}
        if isinstance(err, ServiceError):
            body.update(code=str(err.code), params=err.params)
        if isinstance(err, InvalidInput):
            body["fields"] = messages.field_texts(err.errors, english)
            body["field_codes"] = messages.as_dicts(err.errors)
        if isinstance(err, ModelInvalid):
            body["problems"] = [messages.problem_texts(p.as_dict(), english) for p in err.problems]
        click.echo(json.dumps(body, ensure_ascii=False, indent=2, default=str), err=True)
    elif isinstance(err, InvalidInput):
        for field, texts in messages.field_texts(err.errors, english).items():
            click.echo(f"error: {field}: {' '.join(texts)}", err=True)
    else:
        click.echo(f"error: {text}", err=True)
    sys.exit(code)


def read_json_stdin() -> object:
    """The JSON document on stdin; not JSON is invalid input of the field `_input`."""
    text = sys.stdin.read()
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput.field("_input", Code.NOT_JSON, line=err.lineno) from err


def actor_named(ctx: Context, username: str | None) -> Actor:
    """The user a command acts as; without --user, the shell operator."""
    if username is None:
        return OPERATOR
    with UnitOfWork(ctx.db, write=False) as uow:
        return staff.actor_by_username(uow, username)


def failure_words(failure: StoredFailure | None, stored: str | None) -> str:
    """A timer's or message's stored failure in English with its technical detail; a plain-text one as stored."""
    if failure is None or failure.code is None:
        return stored or ""
    text = messages.render(failure.code, failure.params, messages.in_locale("en"))
    return f"{text} ({failure.detail})" if failure.detail else text


def incident_row(incident) -> dict:
    """An incident for --json: its fields, the stored failure read back as a plain object."""
    row = dict(vars(incident))
    row["failure"] = asdict(incident.failure) if incident.failure else None
    return row


def emit(as_json: bool, payload, text: str) -> None:
    """Print the result: `payload` as JSON with --json, else `text`."""
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str) if as_json else text)
