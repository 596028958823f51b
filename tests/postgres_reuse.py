"""One PostgreSQL database per test process, put back to the template's contents after each test.

`CREATE DATABASE … TEMPLATE` and `DROP DATABASE` cost 0.5–2 s per test on this machine (the copy is written to
the WAL and fsynced; the drop forces a checkpoint of the whole server), about 560 times per `make test`. Putting
the few rows the template holds back costs 0.05–0.3 s: every table emptied, the template's rows copied in
(binary COPY, byte for byte), every sequence set back to the template's value, in one transaction, in about ten
round trips to the server (0.09 -> 0.06 s a reset, at a load of 5, against one round trip per statement).
Only the tables the test wrote are emptied and refilled: a table whose rows were all written by the same
transactions as after the last reset (PostgreSQL's `xmin`), as many as then, holds what it held, since every
row inserted or updated since carries a newer transaction and a deletion lowers the count. Most tests leave the
process models' tables (half a megabyte) as they were; rewriting them was half the reset's time. The reset's
session is kept from one test to the next (opening one, with its cold catalogue cache, took as long again): a
test that needs the database without other sessions ends it (`pg_terminate_backend`), and the next reset opens
another.

What a test sees is what a fresh copy gives it: the same schema, rows and next ids. A test that changed the
schema (a fingerprint of the catalogue) gets a fresh copy instead. After a test that left many rows, every table
is emptied by one TRUNCATE (new files: deleted, their dead versions would make the next test's tables larger
than a fresh copy's) and refilled, instead of a fresh copy, whose DROP DATABASE makes the server write a
checkpoint and waits for it (0.5–3 s, the test process and the server mostly idle). The URL carries a per-test
`fallback_application_name`, so what a process remembers per database URL (engine/workflow/versions.py: the
version hashes) is per test, as with a database per test. Emptying the tables without the foreign-key triggers
needs a superuser (as on the test server); without one, every test gets a fresh copy as before.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import psycopg
from psycopg import sql
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

#: More rows than this in the tables a test wrote: every table truncated and refilled (the module's docstring).
MOST_ROWS = 20_000

#: The catalogue entries a reset cannot put back: relations, their columns and constraints, functions, schemas.
_FINGERPRINT = """
SELECT md5(concat_ws('|',
  (SELECT string_agg(format('%s:%s', c.relname, c.relkind), ',' ORDER BY c.relname)
     FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace),
  (SELECT string_agg(format('%s.%s:%s:%s:%s:%s', a.attrelid::regclass, a.attname, a.atttypid, a.attnotnull,
                            a.attisdropped, a.atthasdef), ',' ORDER BY a.attrelid::regclass::text, a.attnum)
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    WHERE c.relnamespace = current_schema()::regnamespace AND a.attnum > 0),
  (SELECT string_agg(format('%s:%s', conname, contype), ',' ORDER BY conname)
     FROM pg_constraint WHERE connamespace = current_schema()::regnamespace),
  (SELECT string_agg(tgname, ',' ORDER BY tgname) FROM pg_trigger WHERE NOT tgisinternal),
  (SELECT string_agg(proname, ',' ORDER BY proname)
     FROM pg_proc WHERE pronamespace = current_schema()::regnamespace),
  (SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%temp\\_%')))
"""


def _conninfo(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class Snapshot:
    """The template's contents: its tables' rows (binary COPY), its sequences' positions, its fingerprint."""

    tables: list[str]
    rows: dict[str, bytes]
    sequences: dict[str, tuple[int, bool]]
    fingerprint: str

    @classmethod
    def of(cls, url: str) -> Snapshot:
        with psycopg.connect(_conninfo(url)) as conn:
            tables = [name for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]
            rows = {}
            for table in tables:
                exists = sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(table))
                if not conn.execute(exists).fetchone()[0]:
                    continue
                data = bytearray()
                with conn.cursor().copy(sql.SQL("COPY {} TO STDOUT (FORMAT binary)").format(
                        sql.Identifier(table))) as copy:
                    for block in copy:
                        data += block
                rows[table] = bytes(data)
            sequences = {}
            for (name,) in conn.execute(
                    "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()").fetchall():
                sequences[name] = conn.execute(sql.SQL("SELECT last_value, is_called FROM {}").format(
                    sql.Identifier(name))).fetchone()
            fingerprint = conn.execute(_FINGERPRINT).fetchone()[0]
        return cls(tables, rows, sequences, fingerprint)


@dataclass
class ReusedDatabase:
    """This process's database on the PostgreSQL server: a copy of the template, reset between tests."""

    admin: Engine
    template: str
    name: str
    snapshot: Snapshot
    url: str
    #: The reset's own session, kept between tests (None: to be opened).
    connection: psycopg.Connection | None = None
    #: Each table's rows as the last reset left them: their number and the transactions that wrote them.
    written: dict[str, tuple[int, str]] = field(default_factory=dict)

    def create(self) -> None:
        self.drop()
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}" TEMPLATE "{self.template}"'))
        self.written = self._written(self._connection())

    def drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def hand_out(self) -> str:
        """The database's URL for the next test, with a name of its own (see the module's docstring)."""
        url = make_url(self.url)
        return url.set(query={**url.query, "fallback_application_name": f"test_{uuid.uuid4().hex[:12]}"}) \
            .render_as_string(hide_password=False)

    def reset(self) -> None:
        """Put the template's contents back, or make a fresh copy when a reset could not (module docstring)."""
        if not self._put_back():
            self.create()

    def _put_back(self) -> bool:
        # Statements without results to wait for go in one pipeline (one round trip instead of one each: about
        # 60 per reset), the sequences in one statement; COPY cannot be pipelined.
        conn = self._connection()
        try:
            conn.execute("SELECT 1")
        except psycopg.OperationalError:  # the test ended this session (see the module's docstring)
            conn.close()
            self.connection = None
            conn = self._connection()
        with conn.pipeline():
            # Sessions the test left (a leaked connection, a killed server's backend): gone, as a drop would do.
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
            fingerprint = conn.execute(_FINGERPRINT)
        if fingerprint.fetchone()[0] != self.snapshot.fingerprint:
            return False
        written = self._written(conn)
        changed = [table for table in self.snapshot.tables if written.get(table) != self.written.get(table)]
        # TRUNCATE refuses to leave rows whose foreign keys point into a table it empties: all tables at once.
        truncate = sum(written[table][0] for table in changed) > MOST_ROWS
        if truncate:
            changed = self.snapshot.tables
        with conn.transaction():
            with conn.pipeline():
                # No foreign-key triggers: every table written is emptied and refilled with the template's rows.
                conn.execute("SET LOCAL session_replication_role = replica")
                if truncate:
                    conn.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(map(sql.Identifier, changed))))
                else:
                    for table in changed:
                        conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
            for table in changed:
                if table in self.snapshot.rows:
                    with conn.cursor().copy(sql.SQL("COPY {} FROM STDIN (FORMAT binary)").format(
                            sql.Identifier(table))) as copy:
                        copy.write(self.snapshot.rows[table])
            if self.snapshot.sequences:
                conn.execute(sql.SQL("SELECT {}").format(sql.SQL(", ").join(
                    sql.SQL("setval({}::regclass, {}, {})").format(
                        sql.Literal(sql.Identifier(name).as_string(conn)), last_value, is_called)
                    for name, (last_value, is_called) in self.snapshot.sequences.items())))
        self.written = self._written(conn)
        return True

    def _written(self, conn: psycopg.Connection) -> dict[str, tuple[int, str]]:
        """Each table's number of rows and the transactions that wrote them (module docstring)."""
        statement = sql.SQL(" UNION ALL ").join(
            sql.SQL("SELECT {}, count(*), string_agg(DISTINCT xmin::text, ',') FROM {}").format(
                sql.Literal(table), sql.Identifier(table)) for table in self.snapshot.tables)
        return {table: (count, xmins or "") for table, count, xmins in conn.execute(statement)}

    def _connection(self) -> psycopg.Connection:
        if self.connection is None or self.connection.closed:
            self.connection = psycopg.connect(_conninfo(self.url), autocommit=True)
        return self.connection


def is_superuser(admin: Engine) -> bool:
    """Whether the test server's user may empty tables without their foreign-key triggers."""
    with admin.connect() as conn:
        return bool(conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")))
