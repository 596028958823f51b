"""A storage for the `limits` library in the application's own database (table `rate_limits`), so that every
web worker and process counts failed sign-ins together without Redis. Registered under the scheme
`database://` (the app's DATABASE_URL; `RATELIMIT_STORAGE_URI`, see docs/RELIABILITY.md, "Security").

Each change is one transaction on the key's row: the upsert that starts it (INSERT … ON CONFLICT DO UPDATE,
PostgreSQL and SQLite ≥ 3.35) locks the row on PostgreSQL, and on SQLite the transaction holds the write lock
from `BEGIN IMMEDIATE`, so two workers cannot both take the last try. Rows past their expiry are deleted by
the writers, at most once a minute per process.
"""
from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from limits.errors import ConfigurationError
from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import Connection, Row, case, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from engine.db import Database
from engine.models import RateLimit

SCHEME = "database"
#: Expired rows are deleted at most this often per storage (seconds).
CLEAN_EVERY_SECONDS = 60
#: Keys longer than the column are stored as their hash.
MAX_KEY = 255


def _stored_key(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


class DatabaseStorage(Storage, MovingWindowSupport):
    """Fixed- and moving-window counters in `rate_limits`; built by Flask-Limiter from `database://` with the
    app's `Database` in RATELIMIT_STORAGE_OPTIONS["database"] (web/security.py)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options) -> None:
        database = options.pop("database", None)
        if not isinstance(database, Database):
            raise ConfigurationError("database:// needs the app's Database in the storage options")
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.db = database
        self._insert = postgresql.insert if database.engine.dialect.name == "postgresql" else sqlite.insert
        # On SQLite the transaction takes the write lock at once, so the read that follows the upsert is current.
        self._writer = (database.engine.execution_options(sqlite_immediate=True) if database.is_sqlite
                        else database.engine)
        self._cleaned_at = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    @contextmanager
    def _locked(self, key: str, now: float) -> Iterator[tuple[Connection, Row]]:
        """A transaction holding the key's row (created void if missing), committed on leaving."""
        statement = self._insert(RateLimit).values(key=key, count=0, hits="[]", expires_at=now)
        statement = statement.on_conflict_do_update(index_elements=[RateLimit.key],
                                                    set_={"expires_at": RateLimit.expires_at})
        with self._writer.begin() as conn:
            row = conn.execute(statement.returning(RateLimit.count, RateLimit.hits, RateLimit.expires_at)).one()
            yield conn, row
        self._clean(now)

    def _clean(self, now: float) -> None:
        """Delete void rows, in a transaction of its own (never while holding a key's row)."""
        if now - self._cleaned_at < CLEAN_EVERY_SECONDS:
            return
        self._cleaned_at = now
        with self._writer.begin() as conn:
            conn.execute(delete(RateLimit).where(RateLimit.expires_at < now))

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to the key's fixed-window counter (a new window when the last one ended); the count."""
        now = time.time()
        fresh = {"count": amount, "hits": "[]", "expires_at": now + expiry}
        statement = self._insert(RateLimit).values(key=_stored_key(key), **fresh)
        void = RateLimit.expires_at <= now
        statement = statement.on_conflict_do_update(index_elements=[RateLimit.key], set_={
            "count": case((void, amount), else_=RateLimit.count + amount),
            "expires_at": case((void, now + expiry), else_=RateLimit.expires_at),
        }).returning(RateLimit.count)
        with self._writer.begin() as conn:
            count = conn.execute(statement).scalar_one()
        self._clean(now)
        return count

    def _row(self, key: str) -> tuple[int, str, float] | None:
        with self.db.engine.connect() as conn:
            found = conn.execute(select(RateLimit.count, RateLimit.hits, RateLimit.expires_at)
                                 .where(RateLimit.key == _stored_key(key))).one_or_none()
        return None if found is None else (found.count, found.hits, found.expires_at)

    def get(self, key: str) -> int:
        """The key's fixed-window count (0 once its window ended)."""
        row = self._row(key)
        return row[0] if row and row[2] > time.time() else 0

    def get_expiry(self, key: str) -> float:
        """When the key's fixed window ends (now if it has none)."""
        row = self._row(key)
        return row[2] if row else time.time()

    def check(self) -> bool:
        """Whether the database answers."""
        try:
            with self.db.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        """Forget every key."""
        with self._writer.begin() as conn:
            return conn.execute(delete(RateLimit)).rowcount

    def clear(self, key: str) -> None:
        """Forget one key."""
        with self._writer.begin() as conn:
            conn.execute(delete(RateLimit).where(RateLimit.key == _stored_key(key)))

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """Record `amount` hits now unless the last `expiry` seconds already hold more than `limit - amount`."""
        if amount > limit:
            return False
        now = time.time()
        stored = _stored_key(key)
        with self._locked(stored, now) as (conn, row):
            hits = [t for t in json.loads(row.hits) if t > now - expiry]
            if len(hits) + amount > limit:
                return False
            hits = ([now] * amount + hits)[:limit]
            conn.execute(RateLimit.__table__.update().where(RateLimit.key == stored)
                         .values(hits=json.dumps(hits), expires_at=now + expiry))
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """The oldest hit in the last `expiry` seconds and how many there are (now and 0 when none)."""
        now = time.time()
        row = self._row(key)
        hits = [t for t in json.loads(row[1]) if t > now - expiry] if row else []
        return (hits[-1], len(hits)) if hits else (now, 0)
