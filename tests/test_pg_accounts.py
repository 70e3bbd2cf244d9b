"""User accounts on both stores: the same tests for the SQLite file and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
import storage_pg

from guardrails import AuthenticationError, UnknownUserError, UserExistsError, UserStore
from guardrails.login_throttle import Backoff
from guardrails.user_store import SCHEMA
from storage import PostgresDatabase, upgrade


@pytest.fixture()
def pg_url():
    yield from storage_pg.fresh_database_url()


PASSWORD = "correct-horse-battery"


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    if request.param == "sqlite":
        return tmp_path / "users.sqlite"
    db = PostgresDatabase(request.getfixturevalue("pg_url"))
    upgrade(db, SCHEMA)
    return db


def test_add_authenticate_and_change_accounts(location):
    store = UserStore(location)
    store.add("olga", "operator", PASSWORD)
    with pytest.raises(UserExistsError):
        UserStore(location).add("olga", "qa", PASSWORD)
    assert store.authenticate("olga", PASSWORD).role == "operator"
    assert store.set_role("olga", "supervisor") == "operator"
    assert store.get("olga").role == "supervisor"
    assert store.disable("olga") is False
    with pytest.raises(AuthenticationError):
        store.authenticate("olga", PASSWORD)
    assert store.enable("olga") is True
    with pytest.raises(UnknownUserError):
        store.set_role("nobody", "qa")
    assert [a.name for a in store.list()] == ["olga"]


def test_a_disabled_account_is_disabled_for_every_process(location):
    first, second = UserStore(location), UserStore(location)
    first.add("sam", "supervisor", PASSWORD)
    first.disable("sam")
    assert second.get("sam").disabled
    with pytest.raises(AuthenticationError):
        second.authenticate("sam", PASSWORD)


def test_lockout_counts_failures_across_stores_and_unlocks(location):
    policy = Backoff(free=100, base=0.0, lock_after=3)
    stores = [UserStore(location), UserStore(location)]
    stores[0].add("lena", "operator", PASSWORD)
    for i in range(3):
        gate = stores[i % 2].begin_login("lena", policy, now=1000.0 + i)
        assert gate is not None
        stores[i % 2].login_failed("lena", policy)
    assert stores[1].get("lena").locked
    assert stores[0].begin_login("lena", policy, now=2000.0).verdict == "locked"
    assert stores[1].unlock("lena") is True
    assert not stores[0].get("lena").locked
    assert stores[0].begin_login("nobody", policy, now=1.0) is None


def test_parallel_attempts_are_all_counted(location):
    policy = Backoff(free=1000, base=0.0, lock_after=0)
    UserStore(location).add("luke", "operator", PASSWORD)

    def attempt() -> None:
        UserStore(location).begin_login("luke", policy, now=5.0)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gate = UserStore(location).begin_login("luke", policy, now=6.0)
    assert gate.failures == 13  # read-then-write serialised: no attempt lost


def test_the_name_key_is_made_once_per_store(location):
    assert len(UserStore(location).name_key()) == 32
    assert UserStore(location).name_key() == UserStore(location).name_key()


def test_an_unmigrated_postgresql_store_is_refused(pg_url):
    from guardrails import AccountStoreError

    with pytest.raises(AccountStoreError, match="copilot db upgrade"):
        UserStore(PostgresDatabase(pg_url))
