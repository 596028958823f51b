"""engine.bulk's inserts against SQLAlchemy's executemany: the same rows stored, in the order given, a row
whose unique key is there already skipped (on PostgreSQL one `INSERT … SELECT … FROM unnest(…)`)."""
from __future__ import annotations

from datetime import timedelta
from typing import cast

from sqlalchemy import Table, event, insert, select

from engine import bulk, clock
from engine.db import UnitOfWork
from engine.models import AuditEvent, Complaint, Notification, Timer
from tests.lifecycle import start


def _events(tag: str) -> list[dict]:
    now = clock.now()
    return [{"complaint_id": None, "at": now + timedelta(seconds=i), "actor_id": None, "actor_name": f"{tag}{i}",
             "kind": "note", "task_id": None if i % 2 else f"t-{i}", "task_name": "处理 \"加急\"\n" * (i % 3),
             "data": {"i": i, "nested": {"list": [1, 2.5, None, True, "文本"]}, "empty": {}} if i % 4 else {}}
            for i in range(7)]


def _stored(system, table: Table, prefix: str) -> list[dict]:
    """The events whose actor's name starts with `prefix`, by id, without the id and that name."""
    with UnitOfWork(system.db, write=False) as uow:
        rows = uow.session.execute(select(table).where(table.c.actor_name.like(f"{prefix}%"))
                                   .order_by(table.c.id)).mappings().all()
    return [{k: v for k, v in row.items() if k not in ("id", "actor_name")} for row in rows]


def test_collected_rows_are_stored_as_an_executemany_stores_them_in_their_order(system):
    table = cast(Table, AuditEvent.__table__)
    with UnitOfWork(system.db) as uow:
        bulk.insert_rows(uow.session.connection(), table, _events("ours"))
        uow.session.connection().execute(insert(table), _events("theirs"))
        uow.commit()
    ours, theirs = _stored(system, table, "ours"), _stored(system, table, "theirs")
    assert ours == theirs and len(ours) == 7
    assert [r["at"] for r in ours] == [e["at"] for e in _events("")], "ids in the order of the rows"


def test_an_outbox_row_whose_key_is_there_is_skipped(system):
    table = cast(Table, Notification.__table__)
    now = clock.now()

    def rows(keys, kind):
        return [{"dedupe_key": f"bulk:{k}", "user_id": None, "email": f"{k}@example.cn", "complaint_id": None,
                 "kind": kind, "params": {"k": k}, "created_at": now, "next_attempt_at": now, "attempts": 0}
                for k in keys]

    with UnitOfWork(system.db) as uow:
        bulk.insert_rows(uow.session.connection(), table, rows(["a", "b"], "first"), unique=("dedupe_key",))
        bulk.insert_rows(uow.session.connection(), table, rows(["b", "c"], "second"), unique=("dedupe_key",))
        uow.commit()
    with UnitOfWork(system.db, write=False) as uow:
        stored = uow.session.execute(select(Notification.dedupe_key, Notification.kind, Notification.params)
                                     .where(Notification.dedupe_key.like("bulk:%")).order_by(Notification.id)).all()
    assert [tuple(r) for r in stored] == [("bulk:a", "first", {"k": "a"}), ("bulk:b", "first", {"k": "b"}),
                                          ("bulk:c", "second", {"k": "c"})]


def test_written_rows_are_stored_and_left_clean_for_the_next_flush(system):
    """`write_changed` stores the changed columns and marks the rows clean, as a flush that wrote them would:
    the session's next flush sends nothing for them."""
    cid = start(system).complaint_id
    statements: list[str] = []
    with UnitOfWork(system.db) as uow:
        session = uow.session
        complaint = session.get_one(Complaint, cid)
        timers = list(session.scalars(select(Timer).where(Timer.complaint_id == cid)))
        complaint.variables = dict(complaint.variables, note="改")
        complaint.lock_version += 1
        for timer in timers:
            timer.last_error = "x"
        assert complaint in session.dirty
        bulk.write_changed(session, Complaint, [complaint])
        bulk.write_changed(session, Timer, timers)
        assert not session.dirty

        def sent(*args):
            statements.append(args[2])

        event.listen(session.get_bind(), "before_cursor_execute", sent)
        try:
            session.flush()
        finally:
            event.remove(session.get_bind(), "before_cursor_execute", sent)
        assert statements == []
        uow.commit()
    with UnitOfWork(system.db, write=False) as uow:
        stored = uow.session.get_one(Complaint, cid)
        assert stored.variables["note"] == "改" and stored.lock_version == complaint.lock_version
        assert {t.last_error for t in uow.session.scalars(select(Timer).where(Timer.complaint_id == cid))} == {"x"}
