"""Load: 32 simulated staff (locust, `bench/locustfile.py`) against the real server over loopback, with
100,000 complaints in the database, for two minutes after a warm-up; then the same against the embedded
default.

* PostgreSQL: `complaints serve --workers 4` (gunicorn, 4 worker processes, timer worker in the master);
  a fresh schema in BENCH_DATABASE_URL (default: the local `test` database), dropped afterwards.
* SQLite: `complaints serve` as `make run` starts it (one process, 4 threads, timer worker thread).

After the paced run, the same staff work without pauses for BENCH_CAPACITY_SECONDS: the most each configuration
takes, which shows where a company outgrows the embedded default.

Environment: BENCH_COMPLAINTS (100000), BENCH_LOAD_SECONDS (120), BENCH_USERS (32), BENCH_THINK_SECONDS (1.0,
the mean pause of a user between actions), BENCH_WARMUP_SECONDS (15), BENCH_CAPACITY_SECONDS (60),
BENCH_BACKENDS (postgres,sqlite), BENCH_SEEDED (set: BENCH_DATABASE_URL already holds a database seeded with
`python -m bench.seed URL COUNT`, e.g. the 1,000,000 complaints of docs/PERFORMANCE.md; it is used as it is, PostgreSQL
only, and kept), BENCH_SERVE_ARGS (more arguments for `complaints serve` on PostgreSQL, e.g. `--workers 2 --threads 1`;
the later of two equal options wins).
"""
from __future__ import annotations

import csv
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import replace
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from bench.seed import prepare
from engine.config import load_settings
from engine.db import UnitOfWork, open_database
from engine.models import AuditEvent, Complaint, Timer, WorkTask

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COMPLAINTS = int(os.environ.get("BENCH_COMPLAINTS", "100000"))
SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "120"))
THINK = float(os.environ.get("BENCH_THINK_SECONDS", "1.0"))
#: The same staff without pauses: what the configuration can take at most.
CAPACITY_SECONDS = int(os.environ.get("BENCH_CAPACITY_SECONDS", "60"))
USERS = int(os.environ.get("BENCH_USERS", "32"))
WARMUP = int(os.environ.get("BENCH_WARMUP_SECONDS", "15"))
POSTGRES = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
#: Seeding 1,000,000 complaints takes longer than the run itself: such a database is seeded once and reused.
SEEDED = bool(os.environ.get("BENCH_SEEDED"))
#: (request name, p95 target in ms) from the issue.
TARGETS = {"task submit": 100, "task list": 50}
#: How the PostgreSQL server is started: 4 gunicorn workers (of 4 threads, `complaints serve`'s default) unless
#: BENCH_SERVE_ARGS says more.
SERVE_ARGS = ["--workers", "4", *os.environ.get("BENCH_SERVE_ARGS", "").split()]
ROWS = ("task list", "complaint page", "claim", "claim (taken by another)", "task form", "task submit",
        "task submit (changed meanwhile)", "intake form", "intake submit")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_serving(url: str, server: subprocess.Popen, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not start")


def _counts(db) -> dict[str, int]:
    with UnitOfWork(db, write=False) as uow:
        s = uow.session
        return {
            "complaints": s.scalar(select(func.count()).select_from(Complaint)),
            "tasks completed": s.scalar(select(func.count()).select_from(WorkTask)
                                        .where(WorkTask.status == "completed")),
            "timers fired": s.scalar(select(func.count()).select_from(Timer).where(Timer.status == "fired")),
        }


def _seeded(db) -> dict[str, int]:
    """The row counts of a database seeded before (BENCH_SEEDED)."""
    with UnitOfWork(db, write=False) as uow:
        s = uow.session
        return {"complaints": s.scalar(select(func.count()).select_from(Complaint)),
                "open": s.scalar(select(func.count()).select_from(Complaint).where(Complaint.status == "open")),
                "tasks": s.scalar(select(func.count()).select_from(WorkTask)),
                "timers": s.scalar(select(func.count()).select_from(Timer)),
                "events": s.scalar(select(func.count()).select_from(AuditEvent))}


def _locust(url: str, folder: Path, seconds: int, think: float) -> dict[str, dict]:
    """Run the staff for WARMUP + `seconds` with `think` seconds of pause on average between actions;
    return locust's figures per request name."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), BENCH_WARMUP_SECONDS=str(WARMUP), BENCH_THINK_SECONDS=str(think))
    csv_prefix = folder / f"load_{think}"
    done = subprocess.run([str(BIN / "locust"), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                           "-u", str(USERS), "-r", str(max(1, USERS // 4)), "-t", f"{WARMUP + seconds}s",
                           "--host", url, "--csv", str(csv_prefix), "--only-summary", "--loglevel", "WARNING"],
                          cwd=ROOT, env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:  # locust's own summary and any traceback of a simulated user
        print(done.stderr[-20000:], file=sys.stderr)
    with open(f"{csv_prefix}_failures.csv", newline="") as failures:
        for row in csv.DictReader(failures):
            print(f"  failed {row['Occurrences']}x: {row['Method']} {row['Name']}: {row['Error']}", file=sys.stderr)
    with open(f"{csv_prefix}_stats.csv", newline="") as stats:
        return {row["Name"]: row for row in csv.DictReader(stats)}


def _server_errors(log: Path) -> int:
    """Responses with a 5xx status in gunicorn's access log."""
    return sum(1 for line in log.read_text(errors="replace").splitlines() if re.search(r'" 5\d\d ', line))


def _measure(name: str, url_of_db: str, serve_args: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        settings = replace(load_settings({}), database_url=url_of_db, instance_dir=folder)
        db = open_database(url_of_db)
        started = time.perf_counter()
        seeded = _seeded(db) if SEEDED else prepare(db, settings, COMPLAINTS)
        seed_seconds = time.perf_counter() - started
        port = _free_port()
        log = folder / "server.log"
        # XDG_RUNTIME_DIR: gunicorn's control socket goes there, not into a path other servers share.
        env = dict(os.environ, DATABASE_URL=url_of_db, COMPLAINTS_INSTANCE=str(folder), XDG_RUNTIME_DIR=str(folder))
        with open(log, "w") as out:
            server = subprocess.Popen([str(BIN / "complaints"), "serve", "--port", str(port), *serve_args],
                                      env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_serving(url, server)
            before = _counts(db)
            stats = _locust(url, folder, SECONDS, THINK)
            after = _counts(db)
            capacity = _locust(url, folder, CAPACITY_SECONDS, 0.0)
        finally:
            server.send_signal(signal.SIGINT)  # gunicorn's quick shutdown: keep-alive clients are not waited for
            server.wait(60)
        errors_5xx = _server_errors(log)
        if errors_5xx:
            print(log.read_text(errors="replace")[-20000:], file=sys.stderr)
        db.dispose()
    result = {"seeded": seeded, "seed_seconds": seed_seconds, "stats": stats, "capacity": capacity,
              "done": {k: after[k] - before[k] for k in after}, "errors_5xx": errors_5xx}
    _print(name, result)
    failures = int(stats["Aggregated"]["Failure Count"]) + int(capacity["Aggregated"]["Failure Count"])
    if failures or errors_5xx:  # figures of a run with failing requests mean nothing: `make bench` fails
        raise SystemExit(f"load: {name}: {failures} requests failed, {errors_5xx} server errors")
    return result


def _print(name: str, result: dict) -> None:
    seeded, stats, done, capacity = result["seeded"], result["stats"], result["done"], result["capacity"]
    print(f"\nload: {name}, {USERS} staff for {SECONDS} s after {WARMUP} s warm-up "
          f"(pause between actions {THINK} s on average)")
    print(f"  database: {seeded['complaints']:,} complaints ({seeded['open']:,} open), {seeded['tasks']:,} task rows, "
          f"{seeded['timers']:,} timer rows, {seeded['events']:,} audit events; "
          + ("seeded before" if SEEDED else f"seeded in {result['seed_seconds']:.0f} s"))
    print(f"  {'request':26} {'count':>7} {'fails':>6} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for row_name in ROWS + ("Aggregated",):
        row = stats.get(row_name)
        if row is None:
            continue
        print(f"  {row_name:26} {int(row['Request Count']):7d} {int(row['Failure Count']):6d} "
              f"{float(row['Requests/s']):7.1f} {row['50%']:>7} {row['95%']:>7} {row['99%']:>7}")
    print(f"  during warm-up and run: {done['complaints']} complaints recorded, "
          f"{done['tasks completed']} tasks completed, {done['timers fired']} timers fired")
    failures = int(stats["Aggregated"]["Failure Count"]) + int(capacity["Aggregated"]["Failure Count"])
    verdicts = [f"errors {failures + result['errors_5xx']} (target 0; 5xx in the server log "
                f"{result['errors_5xx']})"]
    for row_name, target in TARGETS.items():
        if row_name in stats:
            p95 = float(stats[row_name]["95%"])
            verdicts.append(f"{row_name} p95 {p95:.0f} ms ({'meets' if p95 <= target else 'misses'} {target} ms)")
    print("  " + "; ".join(verdicts))
    print(f"  capacity (the same staff without pauses, {CAPACITY_SECONDS} s): "
          f"{float(capacity['Aggregated']['Requests/s']):.0f} requests/s, "
          f"{float(capacity['task submit']['Requests/s']):.1f} task submits/s; p95 task list "
          f"{capacity['task list']['95%']} ms, task submit {capacity['task submit']['95%']} ms")


def _postgres_schema() -> tuple[str, callable] | None:
    """A fresh schema's URL and its cleanup, or None when PostgreSQL is not reachable."""
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as err:  # noqa: BLE001 - any failure means: no PostgreSQL here
        print(f"\nload: PostgreSQL not reachable at {POSTGRES} ({type(err).__name__}); skipped")
        return None

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    separator = "&" if "?" in POSTGRES else "?"
    return f"{POSTGRES}{separator}options=-csearch_path%3D{schema}", drop


def run() -> dict:
    """Measure each configured backend and print its figures."""
    results = {}
    if SEEDED:
        return {"postgres": _measure(f"PostgreSQL, serve {' '.join(SERVE_ARGS)}", POSTGRES, SERVE_ARGS)}
    backends = os.environ.get("BENCH_BACKENDS", "postgres,sqlite").split(",")
    if "postgres" in backends and (found := _postgres_schema()) is not None:
        url, drop = found
        try:
            results["postgres"] = _measure(f"PostgreSQL, serve {' '.join(SERVE_ARGS)}", url, SERVE_ARGS)
        finally:
            drop()
    if "sqlite" in backends:
        with tempfile.TemporaryDirectory() as tmp:
            results["sqlite"] = _measure("embedded SQLite, one process (make run)",
                                         f"sqlite:///{Path(tmp) / 'load.db'}", [])
    return results
