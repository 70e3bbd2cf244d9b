"""`copilot db migrate-from-home`: an SQLite home copied into PostgreSQL and verified."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import pytest
import storage_pg
from test_pg_catalog import write_doc
from test_pg_training_store import item, result

from copilot.cli.db import migrate_from_home
from copilot.errors import CopilotError
from copilot.training.store import TrainingStore
from guardrails import AuditTrail, UserStore
from knowledge import KnowledgeBase
from storage import PostgresDatabase


@pytest.fixture()
def pg_url():
    yield from storage_pg.fresh_database_url()


PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def config_home(tmp_path_factory, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


def make_home(home: Path, key_file: Path, embedder) -> None:
    trail = AuditTrail(home / "audit" / "audit.sqlite", key_file=key_file)
    for i in range(30):
        trail.append(f"user{i % 3}", "operator", "ask", {"i": i, "q": f"Ø {i}"})
    users = UserStore(home / "users.sqlite")
    users.add("olga", "operator", PASSWORD)
    users.add("adam", "admin", PASSWORD)
    users.disable("adam")
    training = TrainingStore(home / "training" / "training.sqlite")
    items = [item(n) for n in range(3)]
    training.add_items(items, "tina", "trainer")
    training.add_result(result("olga", items, passed=True))
    training.put_card("olga", items[0].item_id, "{}", "2026-01-01")
    KnowledgeBase(home, embedder).ingest([write_doc(home.parent / "docs", 7)])


def test_a_home_is_copied_and_verified(pg_url, tmp_path, embedder):
    home, key_file = tmp_path / "home", tmp_path / "keys" / "audit.key"
    make_home(home, key_file, embedder)
    db = PostgresDatabase(pg_url)
    copied = migrate_from_home(home, db, key_file)
    assert copied["audit"] == 30 and copied["users"] == 2 and copied["attempts"] == 3
    trail = AuditTrail(db, key_file=key_file)
    result_ = trail.verify()
    assert (result_.ok, result_.records) == (True, 30), result_.reason
    source = AuditTrail(home / "audit" / "audit.sqlite", key_file=key_file)
    assert trail.verify().head == source.verify().head  # the same signed head
    assert trail.append("olga", "operator", "ask", {"after": "migration"}).seq == 31
    users = UserStore(db)
    assert users.authenticate("olga", PASSWORD).role == "operator"
    assert users.get("adam").disabled
    assert users.name_key() == UserStore(home / "users.sqlite").name_key()
    training = TrainingStore(db)
    assert [r.n_correct for r in training.results()] == [3]
    assert training.add_result(result("olga", [item(0)], passed=False)).result_id == 2
    kb = KnowledgeBase(tmp_path / "server-home", embedder, catalog_db=db)
    assert kb.search("alarm Z-77", k=1, mode="bm25")[0].doc_id == "SOP-PGX-007"


def test_a_database_with_data_is_refused(pg_url, tmp_path, embedder):
    home, key_file = tmp_path / "home", tmp_path / "keys" / "audit.key"
    make_home(home, key_file, embedder)
    db = PostgresDatabase(pg_url)
    migrate_from_home(home, db, key_file)
    with pytest.raises(CopilotError, match="already holds audit data"):
        migrate_from_home(home, db, key_file)


def test_a_home_whose_trail_is_broken_is_not_copied(pg_url, tmp_path, embedder):
    home, key_file = tmp_path / "home", tmp_path / "keys" / "audit.key"
    make_home(home, key_file, embedder)
    conn = sqlite3.connect(home / "audit" / "audit.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET role = 'admin' WHERE seq = 4")
    conn.close()
    with pytest.raises(CopilotError, match="does not verify.*record 4"):
        migrate_from_home(home, PostgresDatabase(pg_url), key_file)
    with psycopg.connect(pg_url) as conn:  # nothing was copied (no tables even)
        assert conn.execute("SELECT to_regclass('users')").fetchone()[0] is None


def test_not_a_home_is_refused(pg_url, tmp_path):
    with pytest.raises(CopilotError, match="not a copilot home"):
        migrate_from_home(tmp_path, PostgresDatabase(pg_url))
