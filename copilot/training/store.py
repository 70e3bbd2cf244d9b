"""SQLite store of quiz items, modules and learner records.

Records are never edited in place (21 CFR 211.25 / 213.25 training records): attempts, module
results, item status changes and module review events are inserted only, and triggers refuse
UPDATE and DELETE on them. An item's status is its newest status event. The only mutable rows
are FSRS cards: scheduling state derived from the attempts, not a record.

One connection per operation with WAL and a busy timeout: several UI workers and CLI runs may
write at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from .items import Attempt, GradedAnswer, ModuleResult, QuizItem

_APPEND_ONLY = ("items", "item_status", "modules", "module_events", "attempts", "module_results")

_SCHEMA = """
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


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class TrainingStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(_SCHEMA)
            for table in _APPEND_ONLY:
                for verb in ("UPDATE", "DELETE"):
                    conn.execute(
                        f"CREATE TRIGGER IF NOT EXISTS {table}_no_{verb.lower()} BEFORE {verb} "
                        f"ON {table} BEGIN SELECT RAISE(ABORT, 'training records are "
                        f"append-only: {table} rows cannot be {verb.lower()}d'); END")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One IMMEDIATE transaction: writers queue on the lock instead of failing mid-way."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    # -- modules ----------------------------------------------------------------------------

    def add_module(self, module_id: str, doc_id: str, section: str | None, title: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR IGNORE INTO modules VALUES (?,?,?,?,?)",
                         (module_id, doc_id, section, title, now_iso()))

    def modules(self) -> list[sqlite3.Row]:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM modules ORDER BY module_id").fetchall()

    def module(self, module_id: str) -> sqlite3.Row | None:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM modules WHERE module_id=?",
                                (module_id,)).fetchone()

    def add_module_event(self, module_id: str, event: str, reason: str, user: str,
                         role: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT INTO module_events (module_id, event, reason, user, role, at) "
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
                    "INSERT OR IGNORE INTO items VALUES (?,?,?,?,?,?,?,?)",
                    (item.item_id, item.module_id, item.doc_id, item.revision, item.section,
                     item.type, json.dumps(body, ensure_ascii=False), now_iso()))
                if cursor.rowcount:
                    conn.execute("INSERT INTO item_status (item_id, status, reason, user, role, "
                                 "at) VALUES (?,?,?,?,?,?)",
                                 (item.item_id, item.status, reason, user, role, now_iso()))
                    added.append(item.item_id)
        return added

    def set_status(self, item_ids: Iterable[str], status: str, reason: str, user: str,
                   role: str) -> None:
        with self._write() as conn:
            conn.executemany("INSERT INTO item_status (item_id, status, reason, user, role, at) "
                             "VALUES (?,?,?,?,?,?)",
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
               + " ORDER BY i.module_id, i.rowid")
        with self._connect() as conn:
            rows = conn.execute(sql, args).fetchall()
        return [QuizItem(**json.loads(r["body"]), status=r["status"]) for r in rows]

    def status_history(self, item_id: str) -> list[sqlite3.Row]:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM item_status WHERE item_id=? ORDER BY seq",
                                (item_id,)).fetchall()

    # -- learner records --------------------------------------------------------------------

    def add_result(self, result: ModuleResult) -> ModuleResult:
        """The module result and its attempts in one transaction: all recorded or none."""
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO module_results (user, role, module_id, doc_id, revision, "
                "training_type, score, pass_mark, passed, n_items, n_correct, at) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (result.user, result.role, result.module_id, result.doc_id, result.revision,
                 result.training_type, result.score, result.pass_mark, int(result.passed),
                 result.n_items, result.n_correct, result.at))
            result_id = cursor.lastrowid
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
    def _insert_attempt(conn: sqlite3.Connection, a: Attempt, result_id: int | None) -> int:
        cursor = conn.execute(
            "INSERT INTO attempts (user, role, item_id, module_id, doc_id, revision, answer, "
            "correct, response_seconds, training_type, result_id, at) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (a.user, a.role, a.item_id, a.module_id, a.doc_id, a.revision, a.answer,
             int(a.correct), a.response_seconds, a.training_type, result_id, a.at))
        return int(cursor.lastrowid)

    def results(self, user: str | None = None, doc_id: str | None = None) -> list[ModuleResult]:
        clauses, args = [], []
        for clause, value in (("user=?", user), ("doc_id=?", doc_id)):
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
        sql = "SELECT * FROM attempts" + (" WHERE user=?" if user else "") + " ORDER BY attempt_id"
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
                "SELECT user, role FROM module_results WHERE result_id IN "
                "(SELECT MAX(result_id) FROM module_results GROUP BY user) ORDER BY user"
            ).fetchall()
        return [(r["user"], r["role"]) for r in rows]

    # -- FSRS cards (mutable scheduling state) ----------------------------------------------

    def card(self, user: str, item_id: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT card FROM cards WHERE user=? AND item_id=?",
                               (user, item_id)).fetchone()
        return row["card"] if row else None

    def put_card(self, user: str, item_id: str, card_json: str, due: str) -> None:
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO cards VALUES (?,?,?,?)",
                         (user, item_id, card_json, due))

    def due_cards(self, user: str, until: str) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute("SELECT item_id FROM cards WHERE user=? AND due<=? ORDER BY due",
                                (user, until)).fetchall()
        return [r["item_id"] for r in rows]
