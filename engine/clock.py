"""The one clock of the whole program.

SpiffWorkflow's timer module calls `datetime.now(timezone.utc)` itself; `install()` points that name at
this clock so engine timers, SLA bookkeeping and reports all see the same time, and tests and demos can
set it (`COMPLAINTS_NOW` with `COMPLAINTS_ALLOW_CLOCK_OVERRIDE=1`, or `set_now`/`advance` in tests).
"""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_lock = threading.Lock()
_fixed: datetime | None = None
_offset = timedelta(0)


def _real_now() -> datetime:
    return datetime.now(UTC)


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    with _lock:
        if _fixed is not None:
            return _fixed + _offset
        return _real_now() + _offset


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at `moment` (None: real time again). Naive values are taken as UTC."""
    global _fixed, _offset
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    with _lock:
        _fixed = moment.astimezone(UTC) if moment else None
        _offset = timedelta(0)


def advance(delta: timedelta) -> datetime:
    """Move the clock forward by `delta` and return the new time."""
    global _offset
    with _lock:
        _offset += delta
    return now()


def configure(allow_override: bool, override: str | None) -> None:
    """Apply the environment's clock override, honoured only when explicitly allowed."""
    if allow_override and override:
        set_now(datetime.fromisoformat(override))


class _ClockDatetime(datetime):
    """`datetime` whose now() reads our clock; handed to SpiffWorkflow's timer module."""

    @classmethod
    def now(cls, tz=None):  # noqa: D102 - same contract as datetime.now
        current = now()
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


def install() -> None:
    """Make SpiffWorkflow's timers use this clock (idempotent)."""
    _spiff_timer.datetime = _ClockDatetime


install()
