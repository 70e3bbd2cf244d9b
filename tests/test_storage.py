"""The storage layer on both databases: the same tests for an SQLite file and PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
import storage_pg

from storage import (
    DatabaseUrlError,
    Migration,
    PostgresDatabase,
    Schema,
    SchemaError,
    SQLiteDatabase,
    StorageBusyError,
    StorageError,
    StorageUnavailableError,
    current_version,
    open_database,
    open_schema,
    redact_url,
    require,
    upgrade,
)


@pytest.fixture()
def pg_url():
    yield from storage_pg.fresh_database_url()


NOTES_V1 = Migration(1, "notes",
                     ["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"],
                     ["CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT NOT NULL)"])
NOTES_V2 = Migration(2, "notes.author", ['ALTER TABLE notes ADD COLUMN "user" TEXT'],
                     ['ALTER TABLE notes ADD COLUMN "user" TEXT'])
NOTES = Schema("notes", (NOTES_V1, NOTES_V2))


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        return SQLiteDatabase(tmp_path / "store.sqlite")
    return PostgresDatabase(request.getfixturevalue("pg_url"))


def test_upgrade_applies_each_migration_once_and_records_the_version(db):
    assert upgrade(db, Schema("notes", (NOTES_V1,))) == (0, 1)
    assert upgrade(db, NOTES) == (1, 2)
    assert upgrade(db, NOTES) == (2, 2)
    with db.connect() as conn:
        assert current_version(conn, "notes") == 2
        conn.execute('INSERT INTO notes (id, body, "user") VALUES (?, ?, ?)', (1, "x", "olga"))
        assert conn.execute('SELECT "user" FROM notes').fetchone()[0] == "olga"


def test_a_store_refuses_a_newer_schema(db):
    upgrade(db, NOTES)
    with pytest.raises(SchemaError, match="version 2, newer than this copilot's 1"):
        open_schema(db, Schema("notes", (NOTES_V1,)))
    with pytest.raises(SchemaError, match="newer"):
        upgrade(db, Schema("notes", (NOTES_V1,)))


def test_an_unmigrated_database_is_refused_with_the_command_to_run(db):
    with pytest.raises(SchemaError, match="no copilot schema yet.*copilot db upgrade"):
        require(db, NOTES)
    upgrade(db, Schema("notes", (NOTES_V1,)))
    with pytest.raises(SchemaError, match="at version 1, this copilot needs version 2"):
        require(db, NOTES)


def test_open_schema_migrates_an_sqlite_file_but_only_checks_a_server(db):
    if db.auto_migrate:
        open_schema(db, NOTES)
        require(db, NOTES)
    else:
        with pytest.raises(SchemaError):
            open_schema(db, NOTES)


def test_a_failed_migration_leaves_the_old_version(db):
    broken = Schema("notes", (NOTES_V1, Migration(2, "bad", ["CREATE TABLE notes (x TEXT)"],
                                                  ["CREATE TABLE notes (x TEXT)"])))
    with pytest.raises(StorageError, match="notes"):
        upgrade(db, broken)
    with db.connect() as conn:
        assert current_version(conn, "notes") == 0
    assert upgrade(db, NOTES) == (0, 2)


def test_one_sql_for_both_placeholders_upserts_returning_and_named_rows(db):
    upgrade(db, NOTES)
    with db.connect(named_rows=True) as conn:
        conn.begin(lock="notes")
        conn.executemany("INSERT INTO notes (id, body) VALUES (?, ?)", [(1, "a"), (2, "b")])
        cursor = conn.execute("INSERT INTO notes (id, body) VALUES (?, ?) ON CONFLICT DO NOTHING",
                              (1, "again"))
        assert cursor.rowcount == 0
        row = conn.execute("INSERT INTO notes (id, body) VALUES (?, ?) ON CONFLICT (id) DO "
                           "UPDATE SET body = excluded.body RETURNING id, body",
                           (2, "B")).fetchone()
        assert (row["id"], row["body"]) == (2, "B") and tuple(row) == (2, "B")
        conn.commit()
        rows = conn.execute("SELECT id, body FROM notes ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "B")]


def test_rollback_discards_the_transaction(db):
    upgrade(db, NOTES)
    with db.connect() as conn:
        conn.begin(lock="notes")
        conn.execute("INSERT INTO notes (id, body) VALUES (?, ?)", (1, "a"))
        assert conn.in_transaction
        conn.rollback()
        assert not conn.in_transaction
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0


def test_a_writer_holding_the_lock_makes_another_time_out_as_busy(db):
    upgrade(db, NOTES)
    holder, waiter = db.connect(), db.connect(timeout=0.3)
    try:
        holder.begin(lock="notes")
        started = time.monotonic()
        with pytest.raises(StorageBusyError):
            waiter.begin(lock="notes", timeout=0.3)
            waiter.execute("INSERT INTO notes (id, body) VALUES (?, ?)", (9, "x"))
        assert time.monotonic() - started < 10
        waiter.rollback()
        holder.rollback()
    finally:
        holder.close()
        waiter.close()


def test_writers_queue_on_the_lock_and_none_is_lost(db):
    upgrade(db, NOTES)

    def write(start: int) -> None:
        with db.connect() as conn:
            for i in range(start, start + 20):
                conn.begin(lock="notes")
                top = conn.execute("SELECT coalesce(max(id), 0) FROM notes").fetchone()[0]
                conn.execute("INSERT INTO notes (id, body) VALUES (?, ?)", (top + 1, str(i)))
                conn.commit()

    threads = [threading.Thread(target=write, args=(n * 100,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with db.connect() as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM notes ORDER BY id").fetchall()]
    assert ids == list(range(1, 61))  # read-then-write serialised: no collision, no gap


def test_a_database_error_names_the_database(db):
    with db.connect() as conn, pytest.raises(StorageError) as caught:
        conn.execute("SELECT * FROM no_such_table")
    assert db.where in str(caught.value) and "no_such_table" in str(caught.value)


def test_an_unreachable_server_is_a_clear_error():
    db = PostgresDatabase("postgresql://nobody:secret@127.0.0.1:1/none", connect_timeout=1)
    with pytest.raises(StorageUnavailableError, match="cannot connect to PostgreSQL") as caught:
        db.connect()
    assert "secret" not in str(caught.value)  # the password never reaches a message


def test_urls_are_checked_and_passwords_redacted(tmp_path):
    with pytest.raises(DatabaseUrlError, match="not a PostgreSQL URL"):
        open_database("mysql://u:pw@h/db", tmp_path / "x.sqlite")
    assert isinstance(open_database(None, tmp_path / "x.sqlite"), SQLiteDatabase)
    assert isinstance(open_database("postgresql://h/db", tmp_path / "x"), PostgresDatabase)
    assert PostgresDatabase("postgresql+psycopg://h/db").url == "postgresql://h/db"
    assert redact_url("postgresql://app:pw@db.plant:5432/copilot") == \
        "postgresql://app:***@db.plant:5432/copilot"


def test_migrations_must_be_numbered_in_order():
    with pytest.raises(ValueError, match="numbered 1..N"):
        Schema("x", (NOTES_V2,))
