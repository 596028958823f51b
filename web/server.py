"""Production serving: gunicorn (through its application API) running `create_app()` in each worker,
with a timer worker thread in each worker unless disabled."""
from __future__ import annotations

import errno
import socket
import threading

from gunicorn.app.base import BaseApplication

from engine.bootstrap import connect, init_system
from engine.complaints.timer_worker import start_worker_thread
from engine.config import Settings
from web import mail

# The app's modules (Flask, the blueprints, the API), imported here in the master: the workers it forks share
# them instead of each importing them again (`web` itself imports none of them: web/__init__.py).
from web.app import create_app


class _Gunicorn(BaseApplication):
    """gunicorn with our options; each worker builds its own app (and database pool) after the fork."""

    def __init__(self, options: dict):
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self):
        return create_app()


class PortBusy(Exception):
    """The address to serve on is taken by another program."""


def check_port_free(host: str, port: int) -> None:
    """Fail with one clear line, before anything starts, when another program holds the port: gunicorn itself
    would retry five times and print a traceback-like log."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                raise PortBusy(f"port {port} on {host} is already in use: stop the other program or choose another "
                               f"port (complaints serve --port N, or make run PORT=N)") from None
            raise


def serve(settings: Settings, host: str, port: int, workers: int, threads: int, timer_worker: bool) -> None:
    """Bring the database and models up to date, then serve until stopped."""
    check_port_free(host, port)
    db = connect(settings)
    init_system(db, settings, report=print)
    db.dispose()
    stop: dict[str, threading.Event] = {}

    # The timer thread runs in the workers, never in the master: the master forks a worker whenever one
    # dies, and a fork while another thread holds a lock (SQLite's allocator mutex, the clock's lock)
    # hands the new worker that lock held for ever, so its first query hangs. Workers never fork.
    # Several timer threads are safe: each timer fires once however many workers run.
    def post_worker_init(worker) -> None:
        if timer_worker:
            stop["timers"] = start_worker_thread(connect(settings), settings, mail.renderer(settings))
            worker.log.info("timer worker thread started")

    def worker_exit(_server, _worker) -> None:
        if "timers" in stop:
            stop["timers"].set()

    _Gunicorn({
        "bind": f"{host}:{port}", "workers": workers, "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync", "accesslog": "-", "errorlog": "-",
        "post_worker_init": post_worker_init, "worker_exit": worker_exit,
    }).run()

