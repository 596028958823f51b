"""What every staff page reads of the open tasks (issue 16): the navigation's counts stop at a limit and say so,
the first page's tiles stay exact, the complaint page leaves the workflow state unread, and on PostgreSQL the task
lists and counts are answered from the open-task index alone (docs/PERFORMANCE.md, "1,000,000 complaints")."""
from __future__ import annotations

import re

from sqlalchemy import event, inspect, select

from engine import clock
from engine.complaints import casework, desk, worklist
from engine.complaints.notifications import notify
from engine.db import UnitOfWork
from engine.models import User, WorkTask
from tests.lifecycle import start
from tests.plans import many_rows, plan
from tests.web.conftest import text_of
from web import tasks as web_tasks


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


def test_a_task_list_stops_counting_at_its_limit_and_says_so(system, login, monkeypatch):
    for _ in range(4):
        start(system, user="cs_manager")  # the agents' pool
    agent = login("agent2", locale="en")
    monkeypatch.setattr(web_tasks, "PER_PAGE", 1)
    monkeypatch.setattr(web_tasks, "COUNT_LIMIT", 2)

    def shown(page: int) -> tuple[str, str, bool, int]:
        html = text_of(agent.get(f"/tasks/queue?page={page}"))
        count = re.search(r'<h1>[^<]*<span class="count">([^<]+)</span>', html).group(1)
        of = re.search(r"Page \d+ of ([^<]+)</span>", html).group(1)
        return count, of, "Next" in html, html.count('data-task="judge_validity"')

    assert shown(1) == ("2+", "2+", True, 1)  # more than 2
    assert shown(3) == ("3+", "3+", True, 1)  # counted as far as the page asked for, and one more
    assert shown(4) == ("4", "4", False, 1)  # the last page: counted exactly
    monkeypatch.setattr(web_tasks, "COUNT_LIMIT", 4)
    assert shown(1) == ("4", "4", True, 1)


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


def test_the_queue_read_in_parts_is_the_queue_and_pages_add_up(system):
    """The pool read in disjoint parts (`worklist._pool`) holds exactly the tasks the queue's one condition names,
    and a list read page by page, in any order, is the list read at once."""
    for level in ("dissatisfied", "very_dissatisfied", "dissatisfied", "very_dissatisfied"):
        start(system, user="cs_manager", level=level)  # the agents' pool
    start(system)
    with UnitOfWork(system.db) as uow:  # one of the pool escalated to the customer service managers
        task = uow.session.scalars(select(WorkTask).where(WorkTask.assignee_id.is_(None))).first()
        task.escalated_to = "cs_manager"
        uow.commit()
    with UnitOfWork(system.db, write=False) as uow:
        for username in ("agent1", "agent2", "cs_manager", "gm", "head_logistics"):
            actor, now = system.actor(username), clock.now()
            named = set(uow.session.scalars(select(WorkTask.id).where(*worklist._scope(actor, "queue", now))))
            for scope in ("queue", "mine", "all"):
                for sort in ("due", "reference", "level", "created"):
                    whole = worklist.list_tasks(uow.session, actor, scope, now, per_page=100, sort=sort)
                    pages = [worklist.list_tasks(uow.session, actor, scope, now, page=n, per_page=2, sort=sort)
                             for n in range(1, 5)]
                    assert [t.id for p in pages for t in p.items] == [t.id for t in whole.items], (username, sort)
                    assert {p.total for p in pages} == {whole.total} == {len(whole.items)}
                    if scope == "queue":
                        assert {t.id for t in whole.items} == named, username
        assert len(named) == 0 and worklist.list_tasks(
            uow.session, system.actor("cs_manager"), "queue", now).total == 1


def test_the_complaint_page_leaves_the_workflow_state_unread(system):
    cid = start(system).complaint_id
    with UnitOfWork(system.db, write=False) as uow:
        view = casework.complaint_view(uow, system.actor("agent1"), cid)
        assert "state" in inspect(view.complaint).unloaded
        assert view.open_tasks and view.complaint.state  # still there when something asks for it


def test_task_lists_and_counts_read_the_open_task_index_alone(system):
    """30,000 open tasks among 90,000: no list or count of the general manager reads the whole task table, the list of
    all open tasks (page and count) is an index-only scan of the open tasks' covering index, and the pool nobody
    holds is read from its own index (PostgreSQL's plans)."""
    many_rows(system, "INSERT INTO work_tasks (id, complaint_id, name, title, role, status, created_at, due_at) "
              "SELECT 'bulk-' || g, :cid, 'gm_review', '总经理审核', "
              "CASE WHEN g % 8 = 0 THEN 'general_manager' ELSE 'department_head' END, "
              "CASE WHEN g % 3 = 0 THEN 'open' ELSE 'completed' END, now(), now() + g * interval '1 minute' "
              "FROM generate_series(1, 90000) g", "VACUUM ANALYZE work_tasks")
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
            plans[name] = [plan(connection, statement, params) for statement, params in captured]
    assert [len(p) for p in plans.values()] == [1, 3, 2, 2]  # the queue: a count per part, then the page
    for shown in (p for ps in plans.values() for p in ps):
        assert "Seq Scan on work_tasks" not in shown, shown
    for shown in plans["all"]:
        assert "Index Only Scan using ix_work_tasks_open_due on work_tasks" in shown, shown
    for shown in [plans["navigation"][0], *plans["queue"]]:  # the pool: by role, and by escalation
        assert re.search(r"Scan using ix_work_tasks_pool(_escalated)? on work_tasks", shown), shown
