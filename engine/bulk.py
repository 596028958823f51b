"""Writing a batch's rows with Core executemany instead of ORM objects (the timer worker's batch,
docs/PERFORMANCE.md "Timers"): the ORM's per-object bookkeeping cost more than the database's work.

* New rows that nothing reads back in the same transaction (audit events, penalty ledger rows) are collected
  as plain dicts while `collecting` is active and inserted with one executemany per table.
* Changed loaded rows (complaints, timers, tasks) are written by `write_changed`: one executemany `UPDATE`
  per table and set of changed columns, after which the session takes the new values as stored.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, inspect, update
from sqlalchemy.orm import Mapper, Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.models.base import Base

#: `session.info` key of the rows being collected: {table: [row dicts]}.
BUFFER = "bulk_rows"


def add(session: Session, model: type[Base], row: dict[str, Any]) -> bool:
    """Queue `row` (every column but an autoincrement id) for `model`'s table while the session collects
    rows; False when it does not (the caller then adds an ORM object)."""
    buffer = session.info.get(BUFFER)
    if buffer is None:
        return False
    buffer.setdefault(cast(Table, model.__table__), []).append(row)
    return True


@contextmanager
def collecting(session: Session) -> Iterator[None]:
    """Collect the rows `add` is given until the block ends; they are inserted by `insert_collected`, and
    dropped when the block raises (the caller's savepoint undoes the rest)."""
    session.info[BUFFER] = {}
    try:
        yield
    finally:
        session.info.pop(BUFFER, None)


def insert_collected(session: Session) -> None:
    """Insert the rows collected so far, one executemany per table, in the order they were added (audit ids
    keep the order of the events)."""
    buffer: dict[Table, list[dict]] = session.info.get(BUFFER) or {}
    for table, rows in buffer.items():
        if rows:
            session.connection().execute(insert(table), rows)
    buffer.clear()


def write_changed(session: Session, model: type[Base], objects: Iterable[Any]) -> None:
    """UPDATE the changed columns of loaded `objects` of `model` with one executemany per set of changed
    columns, then tell the session that these values are stored (its flush then has nothing left to write
    for them). Only for rows the caller holds locked: unlike the ORM, no version counter is checked."""
    table = cast(Table, model.__table__)
    mapper: Mapper[Any] = inspect(model)
    columns = {prop.key: prop.columns[0].key for prop in mapper.column_attrs}
    groups: dict[tuple[str, ...], list[tuple[Any, Any, dict]]] = {}
    for obj in objects:
        state = inspect(obj)
        if not state.committed_state or state.pending:
            continue
        changed = {name: state.dict[name] for name in state.committed_state if name in columns}
        if changed:
            groups.setdefault(tuple(sorted(changed)), []).append((obj, state.identity[0], changed))
    for names, items in groups.items():
        statement = (update(table).where(mapper.primary_key[0] == bindparam("_pk"))
                     .values({columns[name]: bindparam(name) for name in names}))
        session.connection().execute(statement, [dict(changed, _pk=pk) for _obj, pk, changed in items])
        for obj, _pk, changed in items:
            for name, value in changed.items():
                set_committed_value(obj, name, value)
