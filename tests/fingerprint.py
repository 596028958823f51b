"""A fingerprint of the database's rows, for tests that prove a refused request stored nothing.

Reading every row of every table into Python took a query per table and SQLAlchemy's row processing (15 ms
a fingerprint on PostgreSQL, 7 ms on SQLite, taken twice per fuzzed example). Here the database digests each
table itself, all tables in one statement: its number of rows and a text of all of them in primary-key order
(PostgreSQL: the md5 of every row's text form; SQLite: every row's values as SQL literals, `quote()`). Two
fingerprints are equal only if every table has the same rows, column for column; anything that could make
the order differ between two reads makes them differ, so it can fail a test but never hide a change.
"""
from __future__ import annotations

from collections.abc import Collection
from functools import cache

from sqlalchemy import Engine, Table

from engine.models import Base


def fingerprint(engine: Engine, counted_only: Collection[str] = (),
                skipped: Collection[str] = ()) -> dict[str, tuple[int, str]]:
    """Each table's (number of rows, digest of its rows); the `counted_only` tables by number alone (an empty
    digest), the `skipped` ones not at all."""
    statement = _statement(engine.dialect.name, frozenset(counted_only), frozenset(skipped))
    with engine.connect() as connection:
        return {name: (count, digest or "") for name, count, digest in connection.exec_driver_sql(statement)}


@cache
def _statement(dialect: str, counted_only: frozenset[str], skipped: frozenset[str]) -> str:
    tables = [table for table in Base.metadata.sorted_tables if table.name not in skipped]
    return "\nUNION ALL\n".join(_digest(dialect, table, table.name in counted_only) for table in tables)


def _digest(dialect: str, table: Table, count_only: bool) -> str:
    """One row: the table's name, its number of rows and the digest of its rows (NULL for none)."""
    name = '"' + table.name + '"'
    order = ", ".join('"' + column.name + '"' for column in table.primary_key.columns)
    if count_only:
        return f"SELECT '{table.name}', count(*), NULL FROM {name}"
    if dialect == "postgresql":
        return f"SELECT '{table.name}', count(*), md5(string_agg(fp_row::text, E'\\n' ORDER BY {order})) " \
               f"FROM {name} AS fp_row"
    values = " || ',' || ".join('quote("' + column.name + '")' for column in table.columns)
    return f"SELECT '{table.name}', count(*), group_concat(fp_row, char(10)) " \
           f"FROM (SELECT {values} AS fp_row FROM {name} ORDER BY {order})"
