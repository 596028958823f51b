"""Shared fixtures: a real database per test, of each configured backend (SQLite always, PostgreSQL when
TEST_DATABASE_URL is set).

Migrating, deploying `workflows/` and creating the demo users takes 0.2–0.6 s, so it happens once per test
session and backend, into a template; each test gets a copy of it (a file copy for SQLite, `CREATE DATABASE …
TEMPLATE …` for PostgreSQL, which measured faster than migrating a schema per test). `database_url` is that copy,
`empty_database_url` an empty database (for tests of the migrations and of `complaints init` itself).
On PostgreSQL that copy is made once per test process and put back to the template's contents after each test
(tests/postgres_reuse.py: 0.05–0.3 s instead of 0.5–2 s to create and drop a database). PostgreSQL databases
are named `test_<pid>_…` and dropped when done with, pass or fail; those of a session that was killed are
dropped by the next one.

Under pytest-xdist (`make test` and `make test-fast` run `-n auto`, a worker per core) every worker is a process
of its own: it builds its own template (session fixtures are per worker, `tmp_path_factory` gives each its own
folder, the pid in the PostgreSQL names differs), so workers share no database and no file.

Costs every test would pay are paid once here instead (none changes what a test checks):
* the demo users' password hash: production's scrypt costs 0.12 s of CPU per sign-in, and the tests sign in
  about 500 times, so the template stores the same password with a cheap work factor (`_cheap_demo_passwords`),
  and a sign-in of an unknown user checks against a hash as cheap (`_cheap_dummy_hash`);
* the page templates: every test makes its own app, whose Jinja environment would compile every template again;
  they are compiled once per process into a shared bytecode cache (keyed by the template's source);
* the URL rules' builders: werkzeug generates and compiles a Python function per rule and app (0.1 s of the
  0.12 s an app takes to build); they are generated once per process and rule (`_shared_builder`), and each
  rule's text is parsed into its regular-expression parts once per process (`_shared_parse`: about half of
  what was left, 10 -> 5 ms of CPU an app).

Hypothesis runs the profile `ci` (derandomized: the same examples on every run, so a test cannot pass or fail
by luck) unless HYPOTHESIS_PROFILE=explore, which draws new random examples each run, `examples(n)` times ten.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, settings
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import Engine, create_engine, event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session
from werkzeug.routing import BaseConverter, Rule
from werkzeug.routing.rules import RulePart
from werkzeug.security import generate_password_hash

from engine import clock
from engine.bootstrap import DEMO_PASSWORD, DEMO_USERS, init_system
from engine.config import Settings, load_settings
from engine.db import Database, UnitOfWork, open_database
from engine.models import User
from engine.people import users
from engine.people.users import actor_by_username
from tests.postgres_reuse import ReusedDatabase, Snapshot, is_superuser

BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get("TEST_DATABASE_URL") else [])
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
#: Prefix of every database this test run creates on the PostgreSQL server; the pid tells whose it is.
PREFIX = f"test_{os.getpid()}_"


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc):
    """A test marked `one_backend` runs on SQLite only: its database is parametrized with SQLite alone (a
    parametrize mark on `database_url`, which takes precedence over the fixture's own backends), so its
    PostgreSQL variant is never generated. For tests of what the backend cannot change: layout, client-side
    behaviour (README: Tests)."""
    if metafunc.definition.get_closest_marker("one_backend") and "database_url" in metafunc.fixturenames:
        metafunc.definition.add_marker(pytest.mark.parametrize("database_url", ["sqlite"], indirect=True))


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    """Mark the PostgreSQL variants `postgres`, so `-m "not postgres"` selects the SQLite ones. Then, on the
    tests selected, deal the `faults` tests into one lane per worker and put each lane first in the share of
    the list `--dist worksteal` hands that worker: each worker starts with its lane, one after another, while
    the others work through the rest (and take from the tails of the queues). Alone, one after another, they
    took 9½ minutes, mostly waiting for restarts (README: Tests).

    The other long tests (`_seconds`) come next, longest first, each into the share with the fewest seconds so
    far (the lanes' included); the short ones last, in their order. The tails the workers steal from, and so
    the last tests of the run, are short ones: no worker sits idle at the end while another runs a long test."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and "postgres" in (callspec.params.get("database_url"), callspec.params.get("empty_database_url")):
            item.add_marker(pytest.mark.postgres)
    selected = yield
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    # worksteal's first deal: each worker in turn gets an equal share of what is left, from the front.
    shares = []
    for worker in range(workers):
        shares.append((len(items) - sum(shares)) // (workers - worker))
    lanes: list[list[pytest.Item]] = [[] for _ in range(workers)]
    for item in (item for item in items if item.get_closest_marker("faults")):
        # Round the lanes, skipping a full one: a lane never reaches into the next worker's share.
        lane = min((lane for lane in range(workers) if len(lanes[lane]) < shares[lane]),
                   key=lambda lane: len(lanes[lane]))
        lanes[lane].append(item)
        item.stash[_LANE] = lane
    seconds = [sum(_seconds(item) for item in lane) for lane in lanes]
    long: list[list[pytest.Item]] = [[] for _ in range(workers)]
    rest = [item for item in items if not item.get_closest_marker("faults")]
    for item in sorted((item for item in rest if _seconds(item)), key=_seconds, reverse=True):
        share = min((share for share in range(workers) if len(lanes[share]) + len(long[share]) < shares[share]),
                    key=lambda share: seconds[share])
        long[share].append(item)
        seconds[share] += _seconds(item)
    short = [item for item in rest if not _seconds(item)]
    ordered: list[pytest.Item] = []
    for lane, first, share in zip(lanes, long, shares, strict=True):
        count = share - len(lane) - len(first)
        ordered += lane + first + short[:count]
        del short[:count]
    items[:] = ordered + short
    return selected


#: Tests of many seconds that no marker tells (the authorisation matrix's 1,552 requests, Hypothesis runs, every
#: path of the configured process), by name: `_seconds` counts them long.
LONG_TESTS = ("tests/web/test_authorization_matrix.py::test_every_route_for_every_role",
              "tests/api/test_schemathesis.py::", "tests/unit/test_properties.py::",
              "tests/modelling/test_configured_process.py::test_every_path_runs_the_configured_process")


def _seconds(item: pytest.Item) -> float:
    """About how long the test takes on the 2-core test machine, for the schedule; 0 for a short one. The
    PostgreSQL variant of a test takes longer than the SQLite one (more round trips, a reset after each test)."""
    if item.get_closest_marker("faults"):
        seconds = 40.0
    elif item.nodeid.startswith(LONG_TESTS):
        seconds = 20.0
    elif item.get_closest_marker("browser"):
        seconds = 8.0
    elif item.get_closest_marker("slow"):
        seconds = 4.0
    else:
        return 0.0
    return seconds * 1.5 if item.get_closest_marker("postgres") else seconds


_LANE = pytest.StashKey[int]()


@pytest.fixture(autouse=True)
def _one_fault_per_lane(request, tmp_path_factory) -> Iterator[None]:
    """The faults tests kill servers and workers under load: each in its own database, ports and folders, and
    at most one per lane at a time (a lock in the run's shared temporary folder), so that a worker that
    took another's test by stealing waits for it instead of doubling the load of the killing."""
    lane = request.node.stash.get(_LANE, None)
    if lane is None or "PYTEST_XDIST_WORKER" not in os.environ:
        yield
        return
    with (tmp_path_factory.getbasetemp().parent / f"faults-{lane}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --- Hypothesis: the same examples on every run unless exploring --------------------------------------------

#: Timing is no part of what these tests check: no deadline per example, no health check about slowness (both
#: fail by luck on a loaded machine). No example database: nothing is written into the tree.
_HYPOTHESIS = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow]}
settings.register_profile("ci", derandomize=True, **_HYPOTHESIS)
settings.register_profile("explore", derandomize=False, print_blob=True, **_HYPOTHESIS)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(HYPOTHESIS_PROFILE)


def examples(n: int) -> int:
    """A property test's number of examples: `n` in CI, ten times as many when exploring."""
    return n * 10 if HYPOTHESIS_PROFILE == "explore" else n


# --- Work done once per process instead of once per test --------------------------------------------------------


class _SharedBytecode(BytecodeCache):
    """Compiled templates shared by every app of this process (keyed by name and source checksum)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _SharedBytecode()}


_compile_builder = Rule._compile_builder
_builders: dict[tuple, Callable[..., tuple[str, str]]] = {}


def _shared_builder(rule: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
    """Werkzeug's URL builder of `rule`, generated (Python source, parsed and compiled) once per process for
    each rule instead of for every app: 85% of building an app. The function depends only on the rule's text,
    trace and defaults; it reads the rule's converters from the rule it is bound to, at call time."""
    key = (rule.rule, rule.subdomain, rule.host, rule.merge_slashes, tuple(rule._trace), repr(rule.defaults),
           append_unknown)
    if key not in _builders:
        _builders[key] = _compile_builder(rule, append_unknown)
    return _builders[key]


Rule._compile_builder = _shared_builder  # type: ignore[method-assign]

_parse_rule = Rule._parse_rule
_parsed: dict[tuple, tuple[list[RulePart], list[tuple[bool, str]], list[tuple]]] = {}


def _shared_parse(rule: Rule, text: str) -> list[RulePart]:
    """Werkzeug's parts of the rule text `text` (regular expressions and weights), parsed once per process for
    each text and set of converters: what the parse adds to the rule (its trace, its converters, its arguments)
    is recorded at the first parse and done again on each rule, with converters made for the rule's own map.
    The parts are only read (by the map's matcher), so rules share them."""
    key = (type(rule), text, tuple(rule.map.converters.items()))
    if key not in _parsed:
        made: list[tuple] = []
        get_converter = rule.get_converter

        def recorded(variable: str, converter: str, args: tuple, kwargs: Mapping[str, object]) -> BaseConverter:
            made.append((variable, converter, args, kwargs))
            return get_converter(variable, converter, args, kwargs)

        rule.get_converter = recorded  # type: ignore[method-assign]
        start = len(rule._trace)
        try:
            parts = list(_parse_rule(rule, text))
        finally:
            del rule.get_converter
        _parsed[key] = (parts, rule._trace[start:], made)
        return parts
    parts, trace, made = _parsed[key]
    rule._trace.extend(trace)
    for variable, converter, args, kwargs in made:
        rule._converters[variable] = rule.get_converter(variable, converter, args, kwargs)
        rule.arguments.add(variable)
    return parts


Rule._parse_rule = _shared_parse  # type: ignore[method-assign,assignment]


def _cheap_demo_passwords(url: str) -> None:
    """The demo users' password, hashed with scrypt at a tiny work factor (production's costs 0.12 s per
    sign-in); the sign-in check reads the parameters from the stored hash, so it runs the same code."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(update(User).where(User.username.in_([d.username for d in DEMO_USERS]))
                           .values(password_hash=_CHEAP_DEMO_HASH))
    engine.dispose()


_CHEAP_DEMO_HASH = generate_password_hash(DEMO_PASSWORD, method="scrypt:256:8:1")


@pytest.fixture(autouse=True)
def _cheap_dummy_hash(monkeypatch) -> None:
    """A sign-in without a user checks the password against `DUMMY_HASH`, at production's cost like the users'
    own hashes; here at the demo users' cheap one, so that it still costs what a known user's check costs
    (tests/unit/test_dummy_hash.py checks the real one, imported before this applies)."""
    monkeypatch.setattr(users, "DUMMY_HASH", _CHEAP_DUMMY_HASH)


_CHEAP_DUMMY_HASH = generate_password_hash("no user's password", method="scrypt:256:8:1")


def _build(url: str) -> None:
    """Migrate, deploy `workflows/` and create the demo users in the database at `url`, at the tests' clock."""
    clock.set_now(START)
    db = open_database(url)
    try:
        init_system(db, replace(load_settings({}), database_url=url), demo=True)
    finally:
        db.dispose()
        clock.set_now(None)
    _cheap_demo_passwords(url)


# --- SQLite: one file built per session, copied per test ------------------------------------------------------


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "complaints.db"
    _build(f"sqlite:///{path}")
    # Fold the write-ahead log into the file, so the one file is the whole database.
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
    engine.dispose()
    return path


# --- PostgreSQL: one database built per session, `CREATE DATABASE … TEMPLATE` per test --------------------------


def _postgres_url(name: str) -> str:
    return make_url(os.environ["TEST_DATABASE_URL"]).set(database=name).render_as_string(hide_password=False)


def _drop_orphans(admin: Engine) -> None:
    """Drop the databases of earlier test runs whose process is gone (killed before its teardown).

    Only those older than an hour: a process id from another machine or container may look gone from here.
    Their age needs `pg_stat_file` (a superuser, as on the test server); without it they are left alone. One
    another run drops meanwhile has no file any more: missing_ok, not an error."""
    with admin.connect() as conn:
        try:
            names = conn.scalars(text(
                "SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%\\_%' AND "
                "(pg_stat_file('base/' || oid || '/PG_VERSION', true)).modification < now() - interval '1 hour'")).all()
        except ProgrammingError:
            return
        for name in names:
            pid = name.split("_")[1]
            if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _postgres_admin() -> Iterator[Engine]:
    """A connection to TEST_DATABASE_URL's own database, to create and drop the tests' databases."""
    admin = create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    _drop_orphans(admin)
    yield admin
    admin.dispose()


def _create_database(admin: Engine, name: str, template: str | None = None) -> None:
    clause = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))


def _drop_database(admin: Engine, name: str) -> None:
    # FORCE: a failed test may leave connections open; they must not keep its database alive.
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def _postgres_template(_postgres_admin) -> Iterator[str]:
    name = f"{PREFIX}template"
    _create_database(_postgres_admin, name)
    try:
        _build(_postgres_url(name))
        yield name
    finally:
        _drop_database(_postgres_admin, name)


@pytest.fixture(scope="session")
def _postgres_reused(_postgres_admin, _postgres_template) -> Iterator[ReusedDatabase | None]:
    """This process's copy of the template, reset after each test; None when the server's user may not."""
    if not is_superuser(_postgres_admin):
        yield None
        return
    name = f"{PREFIX}reused"
    database = ReusedDatabase(_postgres_admin, _postgres_template, name,
                              Snapshot.of(_postgres_url(_postgres_template)), _postgres_url(name))
    database.create()
    try:
        yield database
    finally:
        database.drop()


@contextmanager
def _postgres_database(admin: Engine, template: str | None) -> Iterator[str]:
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    _create_database(admin, name, template)
    try:
        yield _postgres_url(name)
    finally:
        _drop_database(admin, name)


# --- The fixtures tests use ------------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> Iterator[str]:
    """The URL of this test's database, of each configured backend: migrated, workflows/ deployed, demo users."""
    if request.param == "sqlite":
        path = tmp_path / "complaints.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    reused = request.getfixturevalue("_postgres_reused")
    if reused is None:
        admin, template = request.getfixturevalue("_postgres_admin"), request.getfixturevalue("_postgres_template")
        with _postgres_database(admin, template) as url:
            yield url
        return
    try:
        yield reused.hand_out()
    finally:
        reused.reset()


@pytest.fixture(params=BACKENDS)
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database of each configured backend (no schema at all)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    with _postgres_database(request.getfixturevalue("_postgres_admin"), None) as url:
        yield url


@dataclass
class System:
    db: Database
    settings: Settings

    def actor(self, username: str):
        with UnitOfWork(self.db, write=False) as uow:
            return actor_by_username(uow, username)


@pytest.fixture
def frozen_clock():
    clock.set_now(START)
    yield clock
    clock.set_now(None)


@pytest.fixture
def system(database_url, frozen_clock, tmp_path) -> Iterator[System]:
    """The engine on this test's database (see `database_url`), with the clock frozen at START."""
    settings = replace(load_settings({}), database_url=database_url, instance_dir=tmp_path)
    db = open_database(database_url)
    yield System(db=db, settings=settings)
    db.dispose()


@pytest.fixture
def commits() -> Iterator[list[Session]]:
    """The sessions committed (by anyone in this process) since the last `commits.clear()`, one per commit of
    a transaction (a savepoint released inside one is part of it, not a commit)."""
    committed: list[Session] = []

    def count(session: Session) -> None:
        if not session.in_nested_transaction():
            committed.append(session)

    event.listen(Session, "after_commit", count)
    yield committed
    event.remove(Session, "after_commit", count)
