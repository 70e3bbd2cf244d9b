"""Store of quiz items, modules and learner records: an SQLite file in the home, or the shared
PostgreSQL database (`storage`).

Records are never edited in place (21 CFR 211.25 / 213.25 training records): attempts, module
results, item status changes and module review events are inserted only, and triggers refuse
UPDATE and DELETE on them. An item's status is its newest status event. The only mutable rows
are FSRS cards: scheduling state derived from the attempts, not a record.

One connection per operation; every write transaction takes the store's write lock first
(SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock): several UI workers, servers and CLI
runs may write at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from storage import (
    POSTGRESQL,
    Connection,
    Database,
    Location,
    Migration,
    Row,
    Schema,
    SQLiteDatabase,
    as_database,
    open_schema,
)

from .items import Attempt, GradedAnswer, ModuleResult, QuizItem

_APPEND_ONLY = ("items", "item_status", "modules", "module_events", "attempts", "module_results")

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS modules (
    module_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, section TEXT, title TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS module_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, module_id TEXT NOT NULL, event TEXT NOT NULL,
    reason TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY, module_id TEXT NOT NULL, doc_id TEXT NOT NULL,
    revision TEXT NOT NULL, section TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS items_module ON items(module_id);
CREATE INDEX IF NOT EXISTS items_doc ON items(doc_id, revision);
CREATE TABLE IF NOT EXISTS item_status (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, status TEXT NOT NULL,
    reason TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS item_status_item ON item_status(item_id, seq);
CREATE TABLE IF NOT EXISTS attempts (
    attempt_id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, role TEXT NOT NULL,
    item_id TEXT NOT NULL, module_id TEXT NOT NULL, doc_id TEXT NOT NULL, revision TEXT NOT NULL,
    answer TEXT NOT NULL, correct INTEGER NOT NULL, response_seconds REAL,
    training_type TEXT NOT NULL, result_id INTEGER, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS attempts_user ON attempts(user, item_id);
CREATE TABLE IF NOT EXISTS module_results (
    result_id INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL, role TEXT NOT NULL,
    module_id TEXT NOT NULL, doc_id TEXT NOT NULL, revision TEXT NOT NULL,
    training_type TEXT NOT NULL, score REAL, pass_mark REAL NOT NULL, passed INTEGER NOT NULL,
    n_items INTEGER NOT NULL, n_correct INTEGER NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS results_user ON module_results(user, doc_id);
CREATE TABLE IF NOT EXISTS cards (
    user TEXT NOT NULL, item_id TEXT NOT NULL, card TEXT NOT NULL, due TEXT NOT NULL,
    PRIMARY KEY (user, item_id));
"""
_PG_SCHEMA = """
CREATE TABLE modules (
    module_id TEXT PRIMARY KEY, doc_id TEXT NOT NULL, section TEXT, title TEXT NOT NULL,
    created_at TEXT NOT NULL);
CREATE TABLE module_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, module_id TEXT NOT NULL,
    event TEXT NOT NULL, reason TEXT NOT NULL, "user" TEXT NOT NULL, role TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE TABLE items (
    item_id TEXT PRIMARY KEY, module_id TEXT NOT NULL, doc_id TEXT NOT NULL,
    revision TEXT NOT NULL, section TEXT NOT NULL, type TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL, ord BIGINT GENERATED ALWAYS AS IDENTITY);
CREATE INDEX items_module ON items(module_id);
CREATE INDEX items_doc ON items(doc_id, revision);
CREATE TABLE item_status (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, item_id TEXT NOT NULL,
    status TEXT NOT NULL, reason TEXT NOT NULL, "user" TEXT NOT NULL, role TEXT NOT NULL,
    at TEXT NOT NULL);
CREATE INDEX item_status_item ON item_status(item_id, seq);
CREATE TABLE attempts (
    attempt_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "user" TEXT NOT NULL,
    role TEXT NOT NULL, item_id TEXT NOT NULL, module_id TEXT NOT NULL, doc_id TEXT NOT NULL,
    revision TEXT NOT NULL, answer TEXT NOT NULL, correct INTEGER NOT NULL,
    response_seconds DOUBLE PRECISION, training_type TEXT NOT NULL, result_id BIGINT,
    at TEXT NOT NULL);
CREATE INDEX attempts_user ON attempts("user", item_id);
CREATE TABLE module_results (
    result_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "user" TEXT NOT NULL,
    role TEXT NOT NULL, module_id TEXT NOT NULL, doc_id TEXT NOT NULL, revision TEXT NOT NULL,
    training_type TEXT NOT NULL, score DOUBLE PRECISION, pass_mark DOUBLE PRECISION NOT NULL,
    passed INTEGER NOT NULL, n_items INTEGER NOT NULL, n_correct INTEGER NOT NULL,
    at TEXT NOT NULL);
CREATE INDEX results_user ON module_results("user", doc_id);
CREATE TABLE cards (
    "user" TEXT NOT NULL, item_id TEXT NOT NULL, card TEXT NOT NULL, due TEXT NOT NULL,
    PRIMARY KEY ("user", item_id));
CREATE FUNCTION training_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'training records are append-only: % rows cannot be %', TG_TABLE_NAME,
    CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted' ELSE 'truncated' END;
END $$;
"""


def _create(conn: Connection) -> None:
    if conn.dialect == POSTGRESQL:
        conn.script(_PG_SCHEMA)
        for table in _APPEND_ONLY:
            conn.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON "
                         f"{table} FOR EACH ROW EXECUTE FUNCTION training_refuse_change()")
            conn.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                         f"FOR EACH STATEMENT EXECUTE FUNCTION training_refuse_change()")
        return
    conn.script(_SQLITE_SCHEMA)
    for table in _APPEND_ONLY:
        for verb in ("UPDATE", "DELETE"):
            conn.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} "
                f"ON {table} BEGIN SELECT RAISE(ABORT, 'training records are "
                f"append-only: {table} rows cannot be {verb.lower()}d'); END")


SCHEMA = Schema("training", (
    Migration(1, "quiz modules, items, learner records (append-only), FSRS cards",
              _create, _create),
), grants=tuple((table, "SELECT, INSERT") for table in _APPEND_ONLY)
   + (("cards", "SELECT, INSERT, UPDATE"),))


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class TrainingStore:
    """`location`: the SQLite file, or a `storage.Database` (PostgreSQL, migrated by
    `copilot db upgrade`)."""

    def __init__(self, location: Path | Database) -> None:
        self.db = as_database(location)
        self.path = (Location(self.db) if self.db.dialect == POSTGRESQL
                     else Path(cast(SQLiteDatabase, self.db).path))
        # Insertion order of items (SQLite's rowid; a PostgreSQL table has none).
        self._item_order = "i.ord" if self.db.dialect == POSTGRESQL else "i.rowid"
        open_schema(self.db, SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        with self.db.connect(30, named_rows=True) as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One locked transaction: writers queue on the lock instead of failing mid-way."""
        with self._connect() as conn:
            conn.begin(lock="training", timeout=30)
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise

    # -- modules ----------------------------------------------------------------------------

    def add_module(self, module_id: str, doc_id: str, section: str | None, title: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO modules (module_id, doc_id, section, title, created_at) "
                         "VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
                         (module_id, doc_id, section, title, now_iso()))

    def modules(self) -> list[Row]:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM modules ORDER BY module_id").fetchall()

    def module(self, module_id: str) -> Row | None:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM modules WHERE module_id=?",
                                (module_id,)).fetchone()

    def add_module_event(self, module_id: str, event: str, reason: str, user: str,
                         role: str) -> None:
        with self._write() as conn:
            conn.execute('INSERT INTO module_events (module_id, event, reason, "user", role, at) '
                         "VALUES (?,?,?,?,?,?)", (module_id, event, reason, user, role, now_iso()))

    def review_state(self, module_id: str) -> tuple[bool, str]:
        """(flagged for review, why): the newest flag/clear event decides."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT event, reason FROM module_events WHERE module_id=? AND event IN "
                "('flagged', 'review_cleared') ORDER BY seq DESC LIMIT 1", (module_id,)).fetchone()
        return (row is not None and row["event"] == "flagged", row["reason"] if row else "")

    # -- items ------------------------------------------------------------------------------

    def add_items(self, items: Iterable[QuizItem], user: str, role: str,
                  reason: str = "generated") -> list[str]:
        """Store new items as drafts (or with their given status); known ids are skipped."""
        added = []
        with self._write() as conn:
            for item in items:
                body = item.model_dump(exclude={"status"})
                cursor = conn.execute(
                    "INSERT INTO items (item_id, module_id, doc_id, revision, section, type, "
                    "body, created_at) VALUES (?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING",
                    (item.item_id, item.module_id, item.doc_id, item.revision, item.section,
                     item.type, json.dumps(body, ensure_ascii=False), now_iso()))
                if cursor.rowcount:
                    conn.execute('INSERT INTO item_status (item_id, status, reason, "user", '
                                 'role, at) VALUES (?,?,?,?,?,?)',
                                 (item.item_id, item.status, reason, user, role, now_iso()))
                    added.append(item.item_id)
        return added

    def set_status(self, item_ids: Iterable[str], status: str, reason: str, user: str,
                   role: str) -> None:
        with self._write() as conn:
            conn.executemany('INSERT INTO item_status (item_id, status, reason, "user", role, '
                             'at) VALUES (?,?,?,?,?,?)',
                             [(i, status, reason, user, role, now_iso()) for i in item_ids])

    def items(self, module_id: str | None = None, doc_id: str | None = None,
              status: str | None = None, item_ids: Iterable[str] | None = None) -> list[QuizItem]:
        clauses, args = [], []
        for clause, value in (("i.module_id=?", module_id), ("i.doc_id=?", doc_id),
                              ("s.status=?", status)):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        if item_ids is not None:
            ids = list(item_ids)
            clauses.append(f"i.item_id IN ({','.join('?' * len(ids)) or 'NULL'})")
            args.extend(ids)
        sql = ("SELECT i.body, s.status FROM items i JOIN item_status s ON s.seq = "
               "(SELECT MAX(seq) FROM item_status WHERE item_id=i.item_id)"
               + (" WHERE " + " AND ".join(clauses) if clauses else "")
               + f" ORDER BY i.module_id, {self._item_order}")
        with self._connect() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [QuizItem(**json.loads(r["body"]), status=r["status"]) for r in rows]

    def status_history(self, item_id: str) -> list[Row]:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM item_status WHERE item_id=? ORDER BY seq",
                                (item_id,)).fetchall()

    # -- learner records --------------------------------------------------------------------

    def add_result(self, result: ModuleResult) -> ModuleResult:
        """The module result and its attempts in one transaction: all recorded or none."""
        with self._write() as conn:
            cursor = conn.execute(
                'INSERT INTO module_results ("user", role, module_id, doc_id, revision, '
                "training_type, score, pass_mark, passed, n_items, n_correct, at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING result_id",
                (result.user, result.role, result.module_id, result.doc_id, result.revision,
                 result.training_type, result.score, result.pass_mark, int(result.passed),
                 result.n_items, result.n_correct, result.at))
            result_id = int(cursor.fetchone()[0])
            for answer in result.answers:
                self._insert_attempt(conn, Attempt(
                    user=result.user, role=result.role, item_id=answer.item_id,
                    module_id=result.module_id, doc_id=result.doc_id, revision=result.revision,
                    answer=answer.answer, correct=answer.correct,
                    response_seconds=answer.response_seconds,
                    training_type=result.training_type, at=result.at), result_id)
        return result.model_copy(update={"result_id": result_id})

    def add_attempt(self, attempt: Attempt) -> Attempt:
        with self._write() as conn:
            attempt_id = self._insert_attempt(conn, attempt, None)
        return attempt.model_copy(update={"attempt_id": attempt_id})

    @staticmethod
    def _insert_attempt(conn: Connection, a: Attempt, result_id: int | None) -> int:
        cursor = conn.execute(
            'INSERT INTO attempts ("user", role, item_id, module_id, doc_id, revision, answer, '
            "correct, response_seconds, training_type, result_id, at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING attempt_id",
            (a.user, a.role, a.item_id, a.module_id, a.doc_id, a.revision, a.answer,
             int(a.correct), a.response_seconds, a.training_type, result_id, a.at))
        return int(cursor.fetchone()[0])

    def results(self, user: str | None = None, doc_id: str | None = None) -> list[ModuleResult]:
        clauses, args = [], []
        for clause, value in (('"user"=?', user), ("doc_id=?", doc_id)):
            if value is not None:
                clauses.append(clause)
                args.append(value)
        sql = "SELECT * FROM module_results" + (" WHERE " + " AND ".join(clauses) if clauses
                                                 else "") + " ORDER BY result_id"
        with self._connect() as conn:
            rows = conn.execute(sql, args).fetchall()
            out = []
            for r in rows:
                answers = [GradedAnswer(item_id=a["item_id"], answer=a["answer"],
                                        correct=bool(a["correct"]), key="",
                                        response_seconds=a["response_seconds"])
                           for a in conn.execute("SELECT * FROM attempts WHERE result_id=? "
                                                 "ORDER BY attempt_id", (r["result_id"],))]
                out.append(ModuleResult(
                    result_id=r["result_id"], user=r["user"], role=r["role"],
                    module_id=r["module_id"], doc_id=r["doc_id"], revision=r["revision"],
                    training_type=r["training_type"], score=r["score"],
                    pass_mark=r["pass_mark"], passed=bool(r["passed"]), n_items=r["n_items"],
                    n_correct=r["n_correct"], at=r["at"], answers=answers))
        return out

    def attempts(self, user: str | None = None) -> list[Attempt]:
        sql = ("SELECT * FROM attempts" + (' WHERE "user"=?' if user else "")
               + " ORDER BY attempt_id")
        with self._connect() as conn:
            rows = conn.execute(sql, (user,) if user else ()).fetchall()
        return [Attempt(attempt_id=r["attempt_id"], user=r["user"], role=r["role"],
                        item_id=r["item_id"], module_id=r["module_id"], doc_id=r["doc_id"],
                        revision=r["revision"], answer=r["answer"], correct=bool(r["correct"]),
                        response_seconds=r["response_seconds"],
                        training_type=r["training_type"], at=r["at"]) for r in rows]

    def learners(self) -> list[tuple[str, str]]:
        """(user, role) of everyone with a learner record, newest role per user."""
        with self._connect() as conn:
            rows = conn.execute(
                'SELECT "user", role FROM module_results WHERE result_id IN '
                '(SELECT MAX(result_id) FROM module_results GROUP BY "user") ORDER BY "user"'
            ).fetchall()
        return [(r["user"], r["role"]) for r in rows]

    # -- FSRS cards (mutable scheduling state) ----------------------------------------------

    def card(self, user: str, item_id: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute('SELECT card FROM cards WHERE "user"=? AND item_id=?',
                               (user, item_id)).fetchone()
        return row["card"] if row else None

    def put_card(self, user: str, item_id: str, card_json: str, due: str) -> None:
        with self._write() as conn:
            conn.execute('INSERT INTO cards ("user", item_id, card, due) VALUES (?,?,?,?) '
                         'ON CONFLICT ("user", item_id) DO UPDATE SET card = excluded.card, '
                         "due = excluded.due", (user, item_id, card_json, due))

    def due_cards(self, user: str, until: str) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute('SELECT item_id FROM cards WHERE "user"=? AND due<=? ORDER BY due',
                                (user, until)).fetchall()
        return [r["item_id"] for r in rows]
