"""A web request reads in one read unit of work (docs/ARCHITECTURE.md, "Consistency"): the signed-in user, the
navigation's counts and the page share one pool checkout; a write ends it, so what is read after a write in the
same request sees the write (on SQLite too, whose read transactions keep their snapshot)."""
from __future__ import annotations

from sqlalchemy import event, select, update

from engine.models import User
from tests.lifecycle import open_task, start
from web.context import reading, writing


def test_a_page_reads_in_one_unit_of_work(system, login):
    complaint_id = start(system).complaint_id
    task = open_task(system, complaint_id)
    agent = login("agent1")
    checkouts, commits = [], []
    event.listen(system.db.engine.pool, "checkout", lambda *_: checkouts.append(1))
    event.listen(system.db.engine, "commit", lambda *_: commits.append(1))
    for page in ("/home", "/tasks/mine", "/tasks/queue", f"/complaints/{complaint_id}", f"/task/{task.id}",
                 "/search?q=x", "/reports"):
        checkouts.clear()
        assert agent.get(page).status_code == 200
        assert len(checkouts) == 1, page
    assert commits == []


def test_a_read_after_a_write_sees_the_write(app):
    with app.test_request_context():
        with reading() as first:
            before = first.session.scalar(select(User).where(User.username == "agent1"))
        with reading() as second:
            assert second is first  # the request's one read unit of work
        with writing() as uow:
            uow.session.execute(update(User).where(User.username == "agent1").values(display_name="Renamed"))
            uow.commit()
        with reading() as third:
            assert third.session.scalar(select(User.display_name).where(User.username == "agent1")) == "Renamed"
            assert third.session.scalar(select(User).where(User.username == "agent1")) is not before
