"""Stored failures: why a timer's firing (`Timer.last_error`) or a mailbox message's filing
(`MailAttempt.last_error`) failed, as stored and read back for the incident lists: a small
JSON text `{"code", "params", "detail"}` — a model's failure as its `STEP_FAILED*` code with the element and
reason, an attempt the worker never finished as `TIMER_CRASHED`, anything else as `TIMER_FAILED` with the
exception's type — so the list words it in the reader's
language; `detail` keeps the library's or Python's words as a technical note (docs/MODELLING.md, "When a model
fails while it runs"). Rows written before hold plain text, which is shown as it is."""
from __future__ import annotations

import json
import traceback
from dataclasses import dataclass, field
from typing import Any

from engine.errors import Code
from engine.workflow.failures import StepFailed

#: The column is text; the stored JSON is kept below this many characters (the detail is what gets cut).
MAX_TEXT = 2000


@dataclass(frozen=True)
class StoredFailure:
    """A stored failure read back: its code and params (None for a plain-text row), the technical `detail`,
    and `text`, a plain-text row's own words (an older row, or a note the worker writes itself)."""

    code: str | None
    params: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None
    text: str | None = None


def failure_text(err: Exception, other: Code = Code.TIMER_FAILED) -> str:
    """`err` as the JSON text stored in `Timer.last_error`; `other` the code of a failure that is not the
    model's (`MAIL_FAILED` for a message)."""
    if isinstance(err, StepFailed) and err.errors.get("model"):
        found = err.errors["model"][0]
        params = {k: v for k, v in found.params.items() if k != "detail"}
        code, detail = str(found.code), str(err.detail or "")
    else:
        code, params = other, {"kind": type(err).__name__}
        detail = "".join(traceback.format_exception_only(type(err), err)).strip()
    kept = detail[:max(MAX_TEXT - len(stored_text(code, params)), 0)]
    text = stored_text(code, params, kept)
    while len(text) > MAX_TEXT and kept:  # escapes made the detail longer than its characters
        kept = kept[:len(kept) - (len(text) - MAX_TEXT)]
        text = stored_text(code, params, kept)
    return text


def crashed_text(attempt: int, attempts: int) -> str:
    """The note an attempt leaves when it starts, replaced by its outcome: read later, the attempt (number
    `attempt` of at most `attempts`) never finished because the worker was killed or crashed."""
    return stored_text(Code.TIMER_CRASHED, {"n": attempt, "max": attempts})


def stored_text(code: Code | str, params: dict[str, Any], detail: str = "") -> str:
    """A failure's code, params and technical detail as the stored JSON text."""
    return json.dumps({"code": str(code), "params": params, "detail": detail}, ensure_ascii=False, default=str)


def read_failure(text: str | None) -> StoredFailure | None:
    """What `failure_text` stored, or a plain-text row as its `text`; None for no error."""
    if not text:
        return None
    try:
        stored = json.loads(text) if text.startswith("{") else None
    except ValueError:
        stored = None
    if not isinstance(stored, dict) or not isinstance(stored.get("code"), str):
        return StoredFailure(None, text=text)
    params = stored.get("params")
    return StoredFailure(stored["code"], params if isinstance(params, dict) else {}, stored.get("detail") or None)
