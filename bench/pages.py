"""One member of staff at a time: on a database seeded with `python -m bench.seed URL COUNT`, request the task lists
and a complaint page with the Flask test client in this process (no server, no concurrency) and print, per role and
page, the median and p95 of the request time, the part spent in SQL, the number of queries, and the CPU time a
request cost this process and its PostgreSQL backend (mean, from /proc: it depends far less on what else runs on
the machine than the times do).

`python -m bench.pages URL [REQUESTS] [user,user,…]` (default 30 requests per page and user; one user of each role
of `bench.seed.bench_staff`). Figures in docs/PERFORMANCE.md, "1,000,000 complaints".
"""
from __future__ import annotations

import os
import re
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import event

from bench.seed import STAFF_PASSWORD
from engine.config import load_settings
from engine.db import open_database
from web import create_app

PEOPLE = ("agent01", "head_logistics_1", "csm1", "gm1")
#: What the load run's staff open most (`bench/locustfile.py`), and a complaint of the role's queue.
PAGES = ("/tasks/mine", "/tasks/queue", "/tasks/due_soon", "complaint")
#: Requests before the timed ones (caches, connections).
WARM = 2
COMPLAINT_LINK = re.compile(r'href="/complaints/(\d+)"')


def _cpu_seconds(pid: int) -> float:
    """User + system CPU of a process on this machine (0 when it is elsewhere or gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(url: str, requests: int = 30, people: tuple[str, ...] = PEOPLE) -> None:
    """Print one line per user and page."""
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(url)
        app = create_app(replace(load_settings({}), database_url=url, instance_dir=Path(folder)), db)
        app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
        sql = {"seconds": 0.0, "queries": 0}
        backends: set[int] = set()

        @event.listens_for(db.engine, "connect")
        def _backend(dbapi_connection, record):
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                backends.add(cursor.fetchone()[0])

        @event.listens_for(db.engine, "before_cursor_execute")
        def _started(conn, cursor, statement, params, context, many):
            conn.info["bench_started"] = time.perf_counter()

        @event.listens_for(db.engine, "after_cursor_execute")
        def _ended(conn, cursor, statement, params, context, many):
            sql["seconds"] += time.perf_counter() - conn.info["bench_started"]
            sql["queries"] += 1

        print(f"pages: {requests} requests per page, load average {os.getloadavg()[0]:.1f}")
        for username in people:
            client = app.test_client()
            signed_in = client.post("/login", data={"username": username, "password": STAFF_PASSWORD})
            assert signed_in.status_code == 302, f"{username} could not sign in"
            complaints = COMPLAINT_LINK.findall(client.get("/tasks/queue").get_data(as_text=True)) \
                or COMPLAINT_LINK.findall(client.get("/tasks/all").get_data(as_text=True))
            for page in PAGES:
                walls, sqls, queries = [], [], []
                cpu = 0.0
                for n in range(WARM + requests):
                    if n == WARM:
                        cpu = -time.process_time() - sum(_cpu_seconds(b) for b in backends)
                    path = f"/complaints/{complaints[n % len(complaints)]}" if page == "complaint" else page
                    sql.update(seconds=0.0, queries=0)
                    started = time.perf_counter()
                    response = client.get(path)
                    assert response.status_code == 200, f"{path}: {response.status_code}"
                    if n >= WARM:
                        walls.append((time.perf_counter() - started) * 1000)
                        sqls.append(sql["seconds"] * 1000)
                        queries.append(sql["queries"])
                cpu += time.process_time() + sum(_cpu_seconds(b) for b in backends)
                print(f"  {username:17} {page:16} p50 {statistics.median(walls):6.1f} ms  p95 {_p95(walls):6.1f} ms"
                      f"   SQL p50 {statistics.median(sqls):5.1f} ms  p95 {_p95(sqls):5.1f} ms"
                      f"   {statistics.median(queries):.0f} queries   CPU {cpu / requests * 1000:5.1f} ms", flush=True)
        db.dispose()


if __name__ == "__main__":
    args = sys.argv[1:]
    measure(args[0], int(args[1]) if len(args) > 1 else 30,
            tuple(args[2].split(",")) if len(args) > 2 else PEOPLE)
