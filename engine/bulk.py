"""Writing a batch's rows with Core executemany instead of ORM objects (the timer worker's batch,
docs/PERFORMANCE.md "Timers"): the ORM's per-object bookkeeping cost more than the database's work.

* New rows that nothing reads back in the same transaction (audit events, penalty ledger rows) are collected
  as plain dicts while `collecting` is active and inserted with one executemany per table.
* Changed loaded rows (complaints, timers, tasks) are written by `write_changed`: one `UPDATE` per table and
  set of changed columns — on PostgreSQL one statement for all of its rows (`UPDATE … FROM unnest(…)`), on
  SQLite an executemany — after which the session takes the new values as stored.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Column, String, Table, bindparam, insert, inspect, update
from sqlalchemy.engine import Connection
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
    connection = session.connection()
    key = cast(Column, mapper.primary_key[0])
    for names, items in groups.items():
        if connection.dialect.name == "postgresql":
            _update_from_arrays(connection, table, key, [table.c[columns[n]] for n in names],
                                [(pk, *(changed[n] for n in names)) for _obj, pk, changed in items])
        else:
            statement = (update(table).where(mapper.primary_key[0] == bindparam("_pk"))
                         .values({columns[name]: bindparam(name) for name in names}))
            connection.execute(statement, [dict(changed, _pk=pk) for _obj, pk, changed in items])
        for obj, _pk, changed in items:
            for name, value in changed.items():
                set_committed_value(obj, name, value)


def _update_from_arrays(connection: Connection, table: Table, key: Column, targets: list[Column],
                        rows: list[tuple]) -> None:
    """`UPDATE table SET c = v.c … FROM unnest(keys, cs, …) AS v WHERE table.key = v.key`: one statement and one
    round trip for every row, where an executemany sends, and PostgreSQL plans and runs, one UPDATE a row.
    Each column's values travel as one array parameter, so the statement's text depends only on the columns:
    psycopg parses it once and prepares it, where a `VALUES` list of every row's parameters is parsed anew
    each batch. The arrays go in binary (`%b`): in text, psycopg escapes every quote of a stored workflow
    state (JSON) through a regex callback, ten times the cost of the whole write. Each array is cast to its
    column's type (an array of NULLs would otherwise have none); text to unbounded VARCHAR, so a value too
    long for its column fails on assignment instead of being cut."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    every = [key, *targets]
    casts = [f"%b::{'VARCHAR' if isinstance(c.type, String) else c.type.compile(dialect=dialect)}[]" for c in every]
    arrays = []
    for index, column in enumerate(every):
        process = column.type._cached_bind_processor(dialect)
        values = [row[index] for row in rows]
        arrays.append(values if process is None else [process(v) for v in values])
    names = ", ".join(quote(c.name) for c in every)
    assignments = ", ".join(f"{quote(c.name)} = v.{quote(c.name)}" for c in targets)
    name = quote(table.name)
    # Only our tables' names are written into the text; every value is bound.
    sql = (f"UPDATE {name} SET {assignments} FROM unnest({', '.join(casts)}) AS v ({names}) "  # noqa: S608
           f"WHERE {name}.{quote(key.name)} = v.{quote(key.name)}")
    connection.exec_driver_sql(sql, tuple(arrays))
