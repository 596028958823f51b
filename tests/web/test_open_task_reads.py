"""What every staff page reads of the open tasks (issue 16): the navigation's counts stop at a limit and say so,
the first page's tiles stay exact, the complaint page leaves the workflow state unread, and on PostgreSQL the task
lists and counts are answered from the open-task index alone (docs/PERFORMANCE.md, "1,000,000 complaints")."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, inspect, select, text

from engine import clock
from engine.complaints import casework, desk, worklist
from engine.complaints.notifications import notify
from engine.db import UnitOfWork
from engine.models import User
from tests.lifecycle import start
from tests.web.conftest import text_of


def _nav(html: str, name: str) -> str | None:
    found = re.search(rf'data-count="{name}">([^<]+)<', html)
    return found.group(1) if found else None


def test_the_navigation_stops_counting_at_its_limit_and_says_so(system, login, monkeypatch):
    for _ in range(3):
        start(system, user="cs_manager")  # judge_validity in the agents' pool: recorded by no agent
    with UnitOfWork(system.db) as uow:
        recipient = uow.session.scalars(select(User).where(User.username == "agent1")).one()
        for n in range(3):
            notify(uow.session, [recipient], "warning", f"k{n}", {"task": "判断投诉是否成立", "reference": "X",
                                                             "due": "2026-11-23T12:00:00+00:00"})
        uow.commit()
    agent = login("agent2")
    assert _nav(text_of(agent.get("/tasks/mine")), "unclaimed") == "3"
    monkeypatch.setattr(desk, "NAV_LIMIT", 3)
    assert _nav(text_of(agent.get("/tasks/mine")), "unclaimed") == "2+"
    home = text_of(agent.get("/home"))
    assert _nav(home, "unclaimed") == "2+"
    assert re.search(r'data-tile="unclaimed"><strong>3</strong>', home)  # the first page's tiles count exactly
    assert _nav(text_of(login("agent1").get("/notifications")), "unread") == "2+"
    monkeypatch.setattr(desk, "NAV_LIMIT", 4)
    assert _nav(text_of(agent.get("/tasks/mine")), "unclaimed") == "3"


def test_the_navigation_counts_what_the_lists_hold(system):
    start(system)  # judge_validity, held by its recorder agent1
    start(system, user="cs_manager")
    for username, mine, unclaimed in (("agent1", 1, 1), ("agent2", 0, 1), ("gm", 0, 0)):
        with UnitOfWork(system.db, write=False) as uow:
            actor = system.actor(username)
            shown = desk.counts(uow, actor)
            lists = {scope: worklist.list_tasks(uow.session, actor, scope, clock.now()).total
                     for scope in ("mine", "queue")}
        assert (shown.mine, shown.unclaimed) == (mine, unclaimed) == (lists["mine"], lists["queue"]), username


def test_the_complaint_page_leaves_the_workflow_state_unread(system):
    cid = start(system).complaint_id
    with UnitOfWork(system.db, write=False) as uow:
        view = casework.complaint_view(uow, system.actor("agent1"), cid)
        assert "state" in inspect(view.complaint).unloaded
        assert view.open_tasks and view.complaint.state  # still there when something asks for it


def test_task_lists_and_counts_read_the_open_task_index_alone(system):
    """30,000 open tasks among 90,000: no list or count of the general manager reads the whole task table, and the
    list of all open tasks (page and count) is an index-only scan of the open tasks' covering index (PostgreSQL's
    plans)."""
    if system.db.engine.dialect.name != "postgresql":
        pytest.skip("query plans are PostgreSQL's")
    cid = start(system).complaint_id
    with system.db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO work_tasks (id, complaint_id, name, title, role, status, created_at, due_at) "
            "SELECT 'bulk-' || g, :cid, 'gm_review', '总经理审核', "
            "CASE WHEN g % 8 = 0 THEN 'general_manager' ELSE 'department_head' END, "
            "CASE WHEN g % 3 = 0 THEN 'open' ELSE 'completed' END, now(), now() + g * interval '1 minute' "
            "FROM generate_series(1, 90000) g"), {"cid": cid})
    with system.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE work_tasks"))
    gm = system.actor("gm")
    plans: dict[str, list[str]] = {}
    for name in ("navigation", "queue", "all", "due_soon"):
        captured: list[tuple[str, dict]] = []

        def keep(conn, cursor, statement, params, context, many, captured=captured):
            if "work_tasks" in statement:
                captured.append((statement, params))

        with UnitOfWork(system.db, write=False) as uow:
            event.listen(system.db.engine, "before_cursor_execute", keep)
            try:
                if name == "navigation":
                    desk.counts(uow, gm)
                else:
                    worklist.list_tasks(uow.session, gm, name, clock.now(), per_page=25)
            finally:
                event.remove(system.db.engine, "before_cursor_execute", keep)
            connection = uow.session.connection()
            plans[name] = ["\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", params).scalars())
                           for statement, params in captured]
    assert [len(p) for p in plans.values()] == [1, 2, 2, 2]
    for shown in (p for ps in plans.values() for p in ps):
        assert "Seq Scan on work_tasks" not in shown, shown
    for shown in plans["all"]:
        assert "Index Only Scan using ix_work_tasks_open_due on work_tasks" in shown, shown
