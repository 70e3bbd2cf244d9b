"""Tamper-evident audit trail (21 CFR 11.10(e)): append-only, hash-chained records in SQLite.

Every record carries the hash of the record before it, and its own hash is SHA-256 over the
canonical JSON of all its other fields, so editing, deleting or reordering any record breaks
the chain at that record. Deleting the *newest* records leaves a shorter chain that is still
valid, so the head (seq and hash) is also checkpointed outside the database, in `<db>.head`;
a checkpoint ahead of the trail means the trail was truncated.

An inspector can recompute a record's hash without this code:

    sha256(json.dumps({"seq", "ts", "user", "role", "action", "details", "prev_hash"},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())

The first record's prev_hash is 64 zeros. There is deliberately no method that updates or
deletes records, and SQLite triggers refuse UPDATE and DELETE on the table.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import random
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
# The C string encoder that json.dumps(ensure_ascii=False) itself uses.
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Literal, TypeVar

from .errors import AuditBusyError, AuditError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: checkpoint writers are not serialised
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

AUDIT_ACTIONS = ("ask", "search", "ingest", "delete", "login", "login_failed", "quiz_submit",
                 "user_change", "config_change", "export", "feedback", "access_denied",
                 "answer_part")
GENESIS_HASH = "0" * 64
FIELDS = ("seq", "ts", "user", "role", "action", "details", "prev_hash", "hash")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL,
        action TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts)",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: records cannot be updated'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: records cannot be deleted'); END""",
)
_SELECT = "SELECT seq, ts, user, role, action, details, prev_hash, hash FROM audit"
# The canonical JSON of a record, keys in sorted order. `details` is stored as canonical JSON
# text, so filling this template equals json.dumps(record, sort_keys=True, ...) without
# parsing and re-serialising every record: that is what keeps verify() fast.
_LINE = '{"action":%s,"details":%s,"prev_hash":%s,"role":%s,"seq":%d,"ts":%s,"user":%s}'

T = TypeVar("T")


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


def _record_hash(seq: int, ts: str, user: str, role: str, action: str, details_json: str,
                 prev_hash: str) -> str:
    enc = encode_basestring
    line = _LINE % (enc(action), details_json, enc(prev_hash), enc(role), seq, enc(ts), enc(user))
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    ts: str  # UTC, ISO-8601 with microseconds
    user: str
    role: str
    action: str
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int  # records found intact before the first bad one (all of them when ok)
    first_bad_seq: int | None  # None when ok, or when the fault is not one record's
    reason: str


class AuditSink(ABC):
    """Where audit records go."""

    @abstractmethod
    def append(self, user: str, role: str, action: str,
               details: Mapping[str, Any]) -> AuditRecord:
        """Store one record durably, then return it."""


class AuditTrail(AuditSink):
    """The SQLite audit trail; safe for several threads and several processes at once."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.head_path = self.path.with_name(self.path.name + ".head")
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._conn_pid = 0
        self._warned = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AuditError(self.path, f"cannot create its folder: {exc}") from exc
        with self._lock:
            conn = self._connection()
            self._retrying(lambda: _create_schema(conn))
            # A fresh trail gets a genesis checkpoint; a trail that has records but no
            # checkpoint keeps lacking one, so that verify() reports it.
            with self._checkpoint_lock():
                if not self.head_path.exists() and self._head(conn)[0] == 0:
                    self._write_checkpoint(0, GENESIS_HASH)

    # -- writing ---------------------------------------------------------------------------

    def append(self, user: str, role: str, action: str,
               details: Mapping[str, Any]) -> AuditRecord:
        return self.append_many([(user, role, action, details)])[0]

    def append_many(self, entries: Iterable[tuple[str, str, str, Mapping[str, Any]]]
                    ) -> list[AuditRecord]:
        """Append several records in one transaction (all or none), in the given order."""
        prepared = [self._prepare(*entry) for entry in entries]
        if not prepared:
            return []
        with self._lock:
            conn = self._connection()
            records, checkpoint_ok = self._retrying(lambda: self._insert(conn, prepared))
            if checkpoint_ok:
                self._advance_checkpoint(records[-1])
            elif not self._warned:
                self._warned = True
                log.error("audit trail %s: checkpoint %s does not match the trail; it is left "
                          "as it is as evidence (run verify)", self.path, self.head_path)
        return records

    def _prepare(self, user: str, role: str, action: str,
                 details: Mapping[str, Any]) -> tuple[str, str, str, str, dict[str, Any]]:
        if action not in AUDIT_ACTIONS:
            raise AuditError(self.path, f"unknown audit action {action!r}; actions: "
                                        f"{', '.join(AUDIT_ACTIONS)}")
        if not isinstance(user, str) or not isinstance(role, str):
            raise AuditError(self.path, f"user and role must be strings, got {user!r}, {role!r}")
        if not isinstance(details, Mapping):
            raise AuditError(self.path, f"details must be a mapping, got {type(details).__name__}")
        try:
            # The round trip turns tuples into lists and int keys into strings, so the
            # stored text is exactly what re-serialising the stored details gives.
            stored = json.loads(json.dumps(dict(details), ensure_ascii=False, allow_nan=False))
            details_json = _canonical(stored)
            (user + role + details_json).encode("utf-8")
        except (TypeError, ValueError) as exc:
            raise AuditError(self.path, f"details of a {action!r} record are not "
                                        f"JSON-serialisable: {exc}") from exc
        return user, role, action, details_json, stored

    def _insert(self, conn: sqlite3.Connection, prepared: list[tuple[str, str, str, str, dict]]
                ) -> tuple[list[AuditRecord], bool]:
        # IMMEDIATE takes the write lock first, so reading the head and inserting the next
        # record cannot interleave with another writer.
        conn.execute("BEGIN IMMEDIATE")
        try:
            seq, prev = self._head(conn)
            checkpoint_ok = self._checkpoint_matches(conn, seq)
            records, rows = [], []
            for user, role, action, details_json, details in prepared:
                seq += 1
                ts = datetime.now(timezone.utc).isoformat(timespec="microseconds")
                digest = _record_hash(seq, ts, user, role, action, details_json, prev)
                records.append(AuditRecord(seq, ts, user, role, action, details, prev, digest))
                rows.append((seq, ts, user, role, action, details_json, prev, digest))
                prev = digest
            conn.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")  # synchronous=FULL: on disk when this returns
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return records, checkpoint_ok

    # -- the checkpoint outside the trail -----------------------------------------------------

    def _checkpoint_matches(self, conn: sqlite3.Connection, head_seq: int) -> bool:
        """Whether the checkpoint names a record of this trail (called under the write lock)."""
        try:
            checkpoint = _read_checkpoint(self.head_path)
        except ValueError:
            return False
        if checkpoint is None or checkpoint[0] > head_seq:
            return False
        seq, digest = checkpoint
        if seq == 0:
            return digest == GENESIS_HASH
        row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (seq,)).fetchone()
        return row is not None and row[0] == digest

    def _advance_checkpoint(self, record: AuditRecord) -> None:
        # Written after the commit: a crash in between leaves the checkpoint behind the
        # trail, which verify() accepts; written before, it could name a record that never
        # committed. Concurrent writers finish in any order, so it only ever moves forward.
        try:
            with self._checkpoint_lock():
                current = _read_checkpoint(self.head_path)
                if current is not None and current[0] < record.seq:
                    self._write_checkpoint(record.seq, record.hash)
        except (OSError, ValueError) as exc:
            # The record is committed; failing here would invite a duplicate retry.
            log.error("audit trail %s: checkpoint not updated to record %d: %s",
                      self.path, record.seq, exc)

    @contextmanager
    def _checkpoint_lock(self):
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(self.path.with_name(self.path.name + ".head.lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write_checkpoint(self, seq: int, digest: str) -> None:
        tmp = self.head_path.with_name(self.head_path.name + ".tmp")  # under the lock
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps({"seq": seq, "hash": digest}))
            handle.flush()
            os.fsync(handle.fileno())  # never a half-written checkpoint after a power cut
        os.replace(tmp, self.head_path)
        # No directory fsync: losing the rename leaves the old checkpoint, which is behind.

    # -- reading ------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest record; (0, 64 zeros) for an empty trail."""
        with self._reader() as conn:
            return self._head(conn)

    def verify(self) -> VerifyResult:
        """Walk the whole chain and check the checkpoint; report the first bad record."""
        # The checkpoint is read before the snapshot is taken: it is written after a commit,
        # so every record it names is in the snapshot even while others keep appending.
        try:
            checkpoint, checkpoint_error = _read_checkpoint(self.head_path), ""
        except ValueError as exc:
            checkpoint, checkpoint_error = None, f"checkpoint {self.head_path} is unreadable: {exc}"
        with self._reader() as conn:
            conn.execute("BEGIN")  # one snapshot for the whole walk
            try:
                return _walk(conn.execute(_SELECT + " ORDER BY seq"), checkpoint,
                             checkpoint_error, self.head_path)
            finally:
                conn.execute("COMMIT")

    def records(self, start: datetime | None = None, end: datetime | None = None,
                user: str | None = None, action: str | None = None, limit: int | None = None,
                *, newest_first: bool = False) -> list[AuditRecord]:
        """Records with start <= ts < end (naive datetimes are taken as UTC), oldest first."""
        clauses, params = [], []
        for clause, value in (("ts >= ?", _ts_bound(start)), ("ts < ?", _ts_bound(end)),
                              ("user = ?", user), ("action = ?", action)):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        sql = _SELECT + (" WHERE " + " AND ".join(clauses) if clauses else "")
        sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
        if limit is not None:
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise AuditError(self.path, f"limit must be a non-negative integer, got {limit!r}")
            sql += f" LIMIT {limit}"
        with self._reader() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [AuditRecord(seq, ts, u, role, act, json.loads(details), prev, digest)
                for seq, ts, u, role, act, details, prev, digest in rows]

    def export(self, start: datetime | None = None, end: datetime | None = None,
               fmt: Literal["json", "csv"] = "json") -> str:
        """A complete copy of the records in [start, end) that still verifies record by record.

        CSV holds `details` as its canonical JSON text, exactly as it was hashed.
        """
        if fmt not in ("json", "csv"):
            raise AuditError(self.path, f"unknown export format {fmt!r}; formats: json, csv")
        records = self.records(start, end)
        if fmt == "json":
            return json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=2)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(FIELDS)
        for r in records:
            writer.writerow((r.seq, r.ts, r.user, r.role, r.action, _canonical(r.details),
                             r.prev_hash, r.hash))
        return out.getvalue()

    # -- connections --------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> AuditTrail:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connection(self) -> sqlite3.Connection:
        """The writer connection (call with self._lock held); a new one after a fork."""
        if self._conn is None or self._conn_pid != os.getpid():
            self._conn = self._connect()  # a parent's connection is dropped, never closed
            self._conn_pid = os.getpid()
        return self._conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise AuditError(self.path, f"cannot open the database: {exc}") from exc
        mode = self._retrying(lambda: conn.execute("PRAGMA journal_mode=WAL").fetchone()[0])
        if str(mode).lower() != "wal":
            conn.close()
            raise AuditError(self.path, f"cannot switch the database to WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    @contextmanager
    def _reader(self):
        conn = self._connect()
        try:
            yield conn
        except sqlite3.Error as exc:
            raise AuditError(self.path, f"cannot read the trail: {exc}") from exc
        finally:
            conn.close()

    @staticmethod
    def _head(conn: sqlite3.Connection) -> tuple[int, str]:
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def _retrying(self, operation: Callable[[], T]) -> T:
        # The busy timeout covers most waits, but SQLite returns SQLITE_BUSY without waiting
        # in some cases (e.g. while another connection recovers the WAL after a crash).
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return operation()
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", None) in (5, 6) or "locked" in str(exc)
                if not busy:
                    raise AuditError(self.path, f"database error: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise AuditBusyError(self.path, self.timeout) from exc
                time.sleep(random.uniform(0.001, 0.01))
            except sqlite3.DatabaseError as exc:
                raise AuditError(self.path, f"database error: {exc}") from exc


def _create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _read_checkpoint(path: Path) -> tuple[int, str] | None:
    """(seq, hash) from the checkpoint file; None if there is none; ValueError if unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ValueError(str(exc)) from exc
    try:
        data = json.loads(text)
        seq, digest = data["seq"], data["hash"]
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a checkpoint: {text[:80]!r}") from exc
    if type(seq) is not int or seq < 0 or not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(f"not a checkpoint: {text[:80]!r}")
    return seq, digest


def _ts_bound(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    # Same fixed-width format as stored timestamps, so text order is time order.
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def _walk(rows: Iterable[tuple], checkpoint: tuple[int, str] | None, checkpoint_error: str,
          head_path: Path) -> VerifyResult:
    def bad(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, seq - 1, seq, reason)

    cp_seq, cp_hash = checkpoint if checkpoint else (-1, "")
    actions = frozenset(AUDIT_ACTIONS)
    sha256, enc, line = hashlib.sha256, encode_basestring, _LINE
    expected, prev = 1, GENESIS_HASH
    # Hot loop over up to millions of rows: no function calls beyond the hashing itself.
    for seq, ts, user, role, action, details, prev_hash, digest in rows:
        if seq != expected:
            return bad(expected, f"record {expected} is missing: record {seq} follows "
                                 f"record {expected - 1}")
        try:
            intact = digest == sha256((line % (enc(action), details, enc(prev_hash), enc(role),
                                               seq, enc(ts), enc(user))).encode()).hexdigest()
        except (TypeError, ValueError):  # a column with a foreign type or unencodable text
            intact = False
        if prev_hash != prev:
            if intact and seq > 1:
                # Both records are self-consistent but do not link: one was rewritten and
                # re-hashed. The earlier one is the first that may be bad.
                return bad(seq - 1, f"record {seq - 1} was altered and re-hashed (or record "
                                    f"{seq} was): record {seq} links to a different hash")
            return bad(seq, f"record {seq} was altered or moved: its prev_hash does not match "
                            f"record {seq - 1}")
        if not intact:
            return bad(seq, f"record {seq} was altered: its hash does not match its contents")
        if action not in actions:
            return bad(seq, f"record {seq} has an unknown action {action!r}")
        if seq == cp_seq and digest != cp_hash:
            return bad(seq, f"record {seq} differs from the checkpoint in {head_path.name}: the "
                            f"trail was rewritten at or before record {seq}")
        prev = digest
        expected += 1
    head = expected - 1
    if checkpoint_error:
        return VerifyResult(False, head, None, checkpoint_error)
    if checkpoint is None:
        if head == 0:
            return VerifyResult(True, 0, None, "empty trail")
        return VerifyResult(False, head, None, f"checkpoint {head_path.name} is missing")
    if cp_seq > head:
        return bad(head + 1, f"trail truncated: the checkpoint names record {cp_seq} but the "
                             f"trail ends at record {head}")
    if cp_seq == 0 and cp_hash != GENESIS_HASH:
        return VerifyResult(False, head, None, f"checkpoint {head_path.name} names record 0 "
                                               f"with a hash other than the genesis hash")
    behind = f" (checkpoint at record {cp_seq})" if cp_seq < head else ""
    return VerifyResult(True, head, None, f"{head} records verified{behind}")
