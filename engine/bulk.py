"""Writing a batch's rows with Core instead of ORM objects (the timer worker's batch, docs/PERFORMANCE.md
"Timers"): the ORM's per-object bookkeeping cost more than the database's work.

* New rows that nothing reads back in the same transaction (audit events, penalty ledger rows) are collected
  as plain dicts while `collecting` is active and inserted with one statement per table (`insert_rows`: on
  PostgreSQL `INSERT … SELECT … FROM unnest(…)`, on SQLite an executemany); the outbox's rows too.
* Changed loaded rows (complaints, timers, tasks) are written by `write_changed`: one `UPDATE` per table and
  set of changed columns — on PostgreSQL one statement for all of its rows (`UPDATE … FROM unnest(…)`), on
  SQLite an executemany — after which the session takes the new values as stored.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, cast

from sqlalchemy import Column, String, Table, bindparam, insert, inspect, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    """Insert the rows collected so far, one statement per table (`insert_rows`), in the order they were added
    (audit ids keep the order of the events)."""
    buffer: dict[Table, list[dict]] = session.info.get(BUFFER) or {}
    for table, rows in buffer.items():
        if rows:
            insert_rows(session.connection(), table, rows)
    buffer.clear()


def insert_rows(connection: Connection, table: Table, rows: list[dict], unique: tuple[str, ...] = ()) -> None:
    """INSERT `rows` in their order; with `unique`, a row whose value of those columns is there already is
    skipped (`ON CONFLICT DO NOTHING`). On PostgreSQL one `INSERT … SELECT … FROM unnest(…)` (as
    `_update_from_arrays`: psycopg's per-row work and PostgreSQL's per-statement work once, not once a row)
    when every row has the same keys and no column they leave out has a default of the program's; otherwise
    an executemany (SQLite, or defaults to apply)."""
    names = list(rows[0])
    postgres = connection.dialect.name == "postgresql"
    if not postgres or any(c.default is not None for c in table.columns if c.key not in rows[0]) \
            or any(row.keys() != rows[0].keys() for row in rows):
        statement = insert(table) if not unique else \
            (postgresql_insert if postgres else sqlite_insert)(table).on_conflict_do_nothing(index_elements=unique)
        connection.execute(statement, rows)
        return
    columns = [table.c[name] for name in names]
    quote = connection.dialect.identifier_preparer.quote
    listed = ", ".join(quote(c.name) for c in columns)
    conflict = f" ON CONFLICT ({', '.join(quote(n) for n in unique)}) DO NOTHING" if unique else ""
    # Only our tables' and columns' names are written into the text; every value is bound.
    sql = (f"INSERT INTO {quote(table.name)} ({listed}) SELECT * FROM "  # noqa: S608
           f"unnest({', '.join(_casts(connection, columns))}) AS v ({listed}){conflict}")
    connection.exec_driver_sql(sql, tuple(_arrays(connection, columns, [[row[n] for n in names] for row in rows])))


def _casts(connection: Connection, columns: list[Column]) -> list[str]:
    """Each column's array parameter, in binary (`%b`), cast to the column's type (an array of NULLs would
    otherwise have none); text to unbounded VARCHAR, so a value too long for its column fails on assignment
    instead of being cut."""
    dialect = connection.dialect
    return [f"%b::{'VARCHAR' if isinstance(c.type, String) else c.type.compile(dialect=dialect)}[]" for c in columns]


def _arrays(connection: Connection, columns: list[Column], rows: list) -> list[list]:
    """One list a column of the rows' values (each row a sequence in the order of `columns`), as the column's
    type binds them."""
    arrays = []
    for index, column in enumerate(columns):
        process = column.type._cached_bind_processor(connection.dialect)
        values = [row[index] for row in rows]
        arrays.append(values if process is None else [process(v) for v in values])
    return arrays


def write_changed(session: Session, model: type[Base], objects: Iterable[Any]) -> None:
    """UPDATE the changed columns of loaded `objects` of `model` with one statement per set of changed
    columns, then tell the session that these values are stored (its flush then has nothing left to write
    for them, and does not look at them). Only for rows the caller holds locked: unlike the ORM, no version
    counter is checked."""
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
            state = inspect(obj)
            if not state.committed_state:
                # Nothing of it is left to write: marked clean as a flush marks what it wrote, so that the
                # session's next flush does not look at it again (≈ 3 % of a timer's CPU).
                state._commit_all(state.dict, session.identity_map)


def _update_from_arrays(connection: Connection, table: Table, key: Column, targets: list[Column],
                        rows: list[tuple]) -> None:
    """`UPDATE table SET c = v.c … FROM unnest(keys, cs, …) AS v WHERE table.key = v.key`: one statement and one
    round trip for every row, where an executemany sends, and PostgreSQL plans and runs, one UPDATE a row.
    Each column's values travel as one array parameter, so the statement's text depends only on the columns:
    psycopg parses it once and prepares it, where a `VALUES` list of every row's parameters is parsed anew
    each batch. The arrays go in binary (`%b`): in text, psycopg escapes every quote of a stored workflow
    state (JSON) through a regex callback, ten times the cost of the whole write (`_casts`)."""
    quote = connection.dialect.identifier_preparer.quote
    every = [key, *targets]
    casts = _casts(connection, every)
    arrays = _arrays(connection, every, rows)
    names = ", ".join(quote(c.name) for c in every)
    assignments = ", ".join(f"{quote(c.name)} = v.{quote(c.name)}" for c in targets)
    name = quote(table.name)
    # Only our tables' names are written into the text; every value is bound.
    sql = (f"UPDATE {name} SET {assignments} FROM unnest({', '.join(casts)}) AS v ({names}) "  # noqa: S608
           f"WHERE {name}.{quote(key.name)} = v.{quote(key.name)}")
    connection.exec_driver_sql(sql, tuple(arrays))
