"""The unit of work: a use case commits once; use cases inside use cases share one transaction; actions that a
rollback cannot undo run after the outcome is known."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import clock
from engine.db import UnitOfWork, use_case
from engine.models import User
from engine.people.users import add_user


@use_case
def _two_users(uow: UnitOfWork, first: str, second: str, fail: bool = False) -> list[int]:
    ids = [add_user(uow, first, "agent", "password-1"), add_user(uow, second, "agent", "password-2")]
    if fail:
        raise RuntimeError("refused after both were added")
    return ids


@use_case
def _commits_half_way(uow: UnitOfWork) -> None:
    uow.commit()


def _names(system) -> set[str]:
    with UnitOfWork(system.db, write=False) as uow:
        return set(uow.session.scalars(select(User.username)))


def test_use_cases_inside_a_use_case_commit_once_together(system, commits):
    with UnitOfWork(system.db) as uow:
        ids = _two_users(uow, "new_a", "new_b")
    assert len(commits) == 1 and len(ids) == 2
    assert {"new_a", "new_b"} <= _names(system)
    commits.clear()
    with UnitOfWork(system.db) as uow, pytest.raises(RuntimeError):
        _two_users(uow, "new_c", "new_d", fail=True)
    assert commits == []
    assert not {"new_c", "new_d"} & _names(system)  # the inner use cases' work went with the outer one


def test_a_use_case_may_not_commit_half_way(system):
    with UnitOfWork(system.db) as uow, pytest.raises(RuntimeError, match="commits when it returns"):
        _commits_half_way(uow)


def test_after_commit_and_after_rollback_actions(system):
    happened: list[str] = []
    with UnitOfWork(system.db) as uow:
        uow.after_commit(lambda: happened.append("moved"))
        uow.after_rollback(lambda: happened.append("removed"))
        add_user(uow, "new_e", "agent", "password-1")
    assert happened == ["moved"]  # the rollback action was dropped with the commit
    happened.clear()
    with UnitOfWork(system.db) as uow:
        uow.after_commit(lambda: happened.append("moved"))
        uow.after_rollback(lambda: happened.append("removed"))
        uow.session.add(User(username="never", role="agent", display_name="x", password_hash="x"))
    assert happened == ["removed"]  # left without a commit: only the rollback action ran
    happened.clear()

    def broken() -> None:
        raise OSError("disk full")

    with UnitOfWork(system.db) as uow:  # a failing action is logged; the others still run
        uow.after_commit(broken)
        uow.after_commit(lambda: happened.append("second"))
        add_user(uow, "new_f", "agent", "password-1")
    assert happened == ["second"] and "new_f" in _names(system)


def test_savepoints_do_not_decide_the_actions(system, commits):
    """A savepoint released or rolled back inside the transaction (the timer worker fires each complaint in
    one) neither runs nor drops the actions: the outermost transaction decides."""
    happened: list[str] = []
    with UnitOfWork(system.db) as uow:
        uow.after_commit(lambda: happened.append("moved"))
        uow.after_rollback(lambda: happened.append("removed"))
        with uow.session.begin_nested():
            uow.session.add(User(username="new_g", role="agent", display_name="G", password_hash="x",
                                 created_at=clock.now()))
        assert happened == []
        with pytest.raises(RuntimeError), uow.session.begin_nested():
            raise RuntimeError("one complaint of the batch failed")
        assert happened == []
        uow.commit()
    assert happened == ["moved"] and "new_g" in _names(system)
    assert len(commits) == 1  # the savepoints are part of the one commit
