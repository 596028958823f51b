"""The timer worker's loop: fire due timers (`timers.run_due`), send queued e-mail and clear expired pending
uploads, then sleep until the next timer is due; as its own process (`complaints worker`) or as a daemon thread
of the embedded server."""
from __future__ import annotations

import gc
import logging
import threading

from sqlalchemy import func, select

from engine import clock
from engine.complaints import evidence, notifications
from engine.complaints.timers import RunResult, run_due
from engine.config import Settings
from engine.db import Database, UnitOfWork
from engine.models import Timer

log = logging.getLogger(__name__)

#: Allocations between two collections of the youngest generation (Python's default: 700). A firing
#: allocates and drops tens of thousands of objects a batch (task trees, rows); collecting every 700 took
#: ≈ 12 % of a worker's CPU (docs/PERFORMANCE.md, "Timers").
YOUNG_COLLECTION = 20_000


#: Set by `tune_collector`: each batch of timers pauses the collector and collects once when it ends.
_collector = {"per_batch": False}


def tune_collector() -> None:
    """For a process that runs the worker alone (`complaints worker`): what start-up loaded stays for the
    process's life, so it is moved out of the collector's view (`gc.freeze`), young objects are collected
    less often, and not at all while a batch of timers fires (`timers.run_due`'s `collect_per_batch`). Not
    for the web server's embedded worker thread: the setting is the whole process's."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, 10, 10)
    _collector["per_batch"] = True


def run_worker(db: Database, settings: Settings, render: notifications.Renderer, stop: threading.Event,
               poll_seconds: float = 2.0) -> None:
    """Loop until `stop` is set: fire due timers, send queued e-mail, clear expired pending uploads (every
    few minutes), sleep when idle."""
    while not stop.is_set():
        try:
            result = run_due(db, stop=stop, collect_per_batch=_collector["per_batch"])
            notifications.send_pending(db, settings.smtp_url, settings.mail_sender, render)
            evidence.clean_pending_if_due(db, settings)
        except Exception:  # noqa: BLE001 - e.g. the database is briefly down: keep the worker alive
            log.exception("timer worker pass failed")
            result = RunResult()
        if result.batches == 0:
            stop.wait(_idle_wait(db, poll_seconds))


def _idle_wait(db: Database, poll_seconds: float) -> float:
    """How long an idle worker sleeps: until the next timer is due, `poll_seconds` at most (so that timers
    made meanwhile by web requests are not missed for longer). Sleeping a fixed interval instead would make
    every timer up to that interval late."""
    try:
        with UnitOfWork(db, write=False) as uow:
            due = uow.session.scalar(select(func.min(Timer.next_attempt_at)).where(Timer.status == "waiting"))
    except Exception:  # noqa: BLE001 - the database is briefly away: poll again later
        return poll_seconds
    if due is None:
        return poll_seconds
    return min(max((due - clock.now()).total_seconds(), 0.05), poll_seconds)


def start_worker_thread(db: Database, settings: Settings, render: notifications.Renderer) -> threading.Event:
    """Run the worker in a daemon thread (the embedded default); set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(target=run_worker, args=(db, settings, render, stop),
                              name="timer-worker", daemon=True)
    thread.start()
    return stop
