"""Tamper-evident audit trail (21 CFR 11.10(e)): append-only, hash-chained records in SQLite
(a file in the home, the default) or PostgreSQL (shared by several servers, COPILOT_DATABASE_URL).

Every record carries the hash of the record before it, and its own hash is SHA-256 over the
canonical JSON of all its other fields, so editing, deleting or reordering any record breaks
the chain at that record. Deleting the *newest* records leaves a shorter chain that is still
valid, so the head (the newest seq and hash) is signed with an Ed25519 key kept outside the
data home (`audit_keys.py`) and stored in the `audit_head` table (`audit_head.py`). verify()
demands that the head is signed by the trail's key and names exactly the newest record: a
head ahead of the trail means truncation, one behind means records after it are unvouched,
a missing, unsigned or wrongly signed head means forgery.

The head is written in the same transaction as the records it names, so there is no
crash window in which the two disagree, and verify() can be strict. (It used to be a file
beside the database, written after the commit; verify() had to accept one behind the trail,
and so accepted any older head.) What a signature cannot catch is a roll-back to an older,
internally consistent copy of the trail and its head, a trail deleted as a whole (it looks
new), or a rewrite re-signed by someone who holds the key: verify(witness=...) catches all
three when given heads that were kept elsewhere.

An inspector can recompute a record's hash without this code:

    sha256(json.dumps({"seq", "ts", "user", "role", "action", "details", "prev_hash"},
                      sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode())

The first record's prev_hash is 64 zeros. There is deliberately no method that updates or
deletes records, and triggers refuse UPDATE and DELETE on the table (in PostgreSQL TRUNCATE
too; there the copilot can also run as a role without those rights, see `copilot db grant`).

Appends are serialised by the database, so writers in several processes on several hosts
form one chain: SQLite's write lock (`BEGIN IMMEDIATE`), or in PostgreSQL an advisory lock held
until commit; the primary key on `seq` refuses a fork even if a writer skipped the lock. The
public key that pins the trail's key is `<db>.pub` beside an SQLite file, and the one-row
table `audit_public_key` in PostgreSQL.

A trail written before heads were signed has records but no signed head, only the unsigned
`<db>.head` file: verify() reports it, and appends leave it so (they only keep the file at
the newest record), since nothing shows that the file was genuine. adopt_legacy() is the
administrator's explicit, audited decision to trust it; it never happens on its own.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import os
import random
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime

# The C string encoder that json.dumps(ensure_ascii=False) itself uses.
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from storage import (
    POSTGRESQL,
    Connection,
    Database,
    Location,
    Migration,
    Schema,
    SQLiteDatabase,
    StorageBusyError,
    StorageError,
    StorageUnavailableError,
    as_database,
    open_schema,
)

from .audit_head import SignedHead, sign_head
from .audit_keys import AuditKey, AuditKeyError, AuditSigner, default_key_file
from .errors import AuditBusyError, AuditError

log = logging.getLogger(__name__)

AUDIT_ACTIONS = ("ask", "search", "ingest", "delete", "login", "login_failed", "quiz_submit",
                 "user_change", "config_change", "export", "feedback", "access_denied",
                 "answer_part")
GENESIS_HASH = "0" * 64
FIELDS = ("seq", "ts", "user", "role", "action", "details", "prev_hash", "hash")

_SQLITE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL,
        action TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS audit_ts ON audit (ts)",
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: records cannot be updated'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: records cannot be deleted'); END""",
    # One row: the signed head as JSON. It is replaced by every append, so only deleting it
    # is refused here; a forged one fails its signature.
    "CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "head TEXT NOT NULL)",
    """CREATE TRIGGER IF NOT EXISTS audit_head_no_delete BEFORE DELETE ON audit_head
       BEGIN SELECT RAISE(ABORT, 'the audit head cannot be deleted'); END""",
)
_PG_SCHEMA = (
    """CREATE TABLE audit (
        seq BIGINT PRIMARY KEY, ts TEXT NOT NULL, "user" TEXT NOT NULL, role TEXT NOT NULL,
        action TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX audit_ts ON audit (ts)",
    """CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'audit trail is append-only: records cannot be %',
           CASE TG_OP WHEN 'UPDATE' THEN 'updated' WHEN 'DELETE' THEN 'deleted'
                      ELSE 'truncated' END;
       END $$""",
    """CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
       FOR EACH ROW EXECUTE FUNCTION audit_refuse_change()""",
    """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
       FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change()""",
    "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), head TEXT NOT NULL)",
    """CREATE FUNCTION audit_head_refuse_delete() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the audit head cannot be deleted'; END $$""",
    """CREATE TRIGGER audit_head_no_delete BEFORE DELETE ON audit_head
       FOR EACH ROW EXECUTE FUNCTION audit_head_refuse_delete()""",
    """CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head
       FOR EACH STATEMENT EXECUTE FUNCTION audit_head_refuse_delete()""",
    # The public key the trail's heads are signed with, pinned once (like <db>.pub).
    "CREATE TABLE audit_public_key (id INTEGER PRIMARY KEY CHECK (id = 1), pem TEXT NOT NULL)",
    """CREATE FUNCTION audit_key_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the audit public key is pinned: it cannot be changed'; END $$""",
    """CREATE TRIGGER audit_public_key_pinned BEFORE UPDATE OR DELETE ON audit_public_key
       FOR EACH ROW EXECUTE FUNCTION audit_key_refuse_change()""",
    "REVOKE UPDATE, DELETE, TRUNCATE ON audit, audit_public_key FROM PUBLIC",
)
SCHEMA = Schema("audit", (
    Migration(1, "hash-chained records, the signed head, append-only triggers",
              _SQLITE_SCHEMA, _PG_SCHEMA),
), grants=(("audit", "SELECT, INSERT"), ("audit_head", "SELECT, INSERT, UPDATE"),
           ("audit_public_key", "SELECT, INSERT")))
_WRITE_HEAD = ("INSERT INTO audit_head (id, head) VALUES (1, ?) "
               "ON CONFLICT (id) DO UPDATE SET head = excluded.head")
# "user" is quoted: a reserved word in PostgreSQL (the session user), a plain name in SQLite.
_SELECT = 'SELECT seq, ts, "user", role, action, details, prev_hash, hash FROM audit'
_LOCK = "audit"  # the advisory lock every PostgreSQL writer takes
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
    head: SignedHead | None = None  # the signed head that was verified (when ok)


class AuditSink(ABC):
    """Where audit records go, and everything its callers read back: the records (the admin
    tab, knowledge gaps), the verdict on the chain and an export. One interface, so no caller
    has to ask which trail it was given."""

    @abstractmethod
    def append(self, user: str, role: str, action: str,
               details: Mapping[str, Any]) -> AuditRecord:
        """Store one record durably, then return it."""

    @abstractmethod
    def records(self, start: datetime | None = None, end: datetime | None = None,
                user: str | None = None, action: str | None = None, limit: int | None = None,
                *, newest_first: bool = False) -> list[AuditRecord]:
        """Records with start <= ts < end, oldest first (or newest first)."""

    @abstractmethod
    def verify(self, witness: Iterable[SignedHead] = ()) -> VerifyResult:
        """Check the whole chain (and the witnessed heads); name the first bad record."""

    @abstractmethod
    def export(self, start: datetime | None = None, end: datetime | None = None,
               fmt: Literal["json", "csv"] = "json") -> str:
        """A complete copy of the records in [start, end) that still verifies."""


class AuditTrail(AuditSink):
    """The audit trail; safe for several threads, processes and (on PostgreSQL) hosts at once.

    `location` is the SQLite file, or a `storage.Database` (PostgreSQL: its schema must be
    migrated by `copilot db upgrade`). `key_file` is the Ed25519 key that signs the head
    (default: `default_key_file()`, in the user's config folder); `signer` gives the key
    directly instead. The key is read, or created with mode 0600, on the first append; reading
    and verifying never create one. Every server writing one PostgreSQL trail needs the same
    key file.
    """

    def __init__(self, location: str | os.PathLike[str] | Database, *, timeout: float = 30.0,
                 key_file: str | os.PathLike[str] | None = None,
                 signer: AuditSigner | None = None) -> None:
        self.db = as_database(location)
        self.shared = self.db.dialect == POSTGRESQL
        self.key_file = Path(key_file).expanduser() if key_file else default_key_file()
        if self.shared:
            self.path: Any = Location(self.db)  # the URL without its password, for messages
            self.public_key_path: Path | None = None
            self.legacy_head_path: Path | None = None  # a PostgreSQL trail was never unsigned
            self._pub_name = "the audit_public_key table"
        else:
            self.path = Path(cast(SQLiteDatabase, self.db).path)
            self.public_key_path = self.path.with_name(self.path.name + ".pub")
            # The unsigned {"seq", "hash"} head of trails from before signed heads; see
            # adopt_legacy.
            self.legacy_head_path = self.path.with_name(self.path.name + ".head")
            self._pub_name = self.public_key_path.name
        self.timeout = timeout
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._conn_pid = 0
        self._signer = signer
        self._last_head = ""  # the head this process wrote last: no need to check its signature
        self._warned = False
        if (signer is None and not self.shared
                and self.key_file.resolve().is_relative_to(self.path.parent.resolve())):
            # Beside the trail, the key is readable by whoever can rewrite the trail.
            raise AuditError(self.path, f"the audit key file {self.key_file} is inside the "
                                        f"trail's folder; keep it outside the data home")
        if not self.shared:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise AuditError(self.path, f"cannot create its folder: {exc}") from exc
        with self._lock:
            self._retrying(lambda conn: None)  # opens the writer connection: fail early
        self._retrying_plain(lambda: open_schema(self.db, SCHEMA, timeout=self.timeout))

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
            signer = self._signer or self._retrying(self._signer_for, writes=True)
            records, head_ok = self._retrying(lambda conn: self._insert(conn, prepared, signer),
                                              writes=True)
            if not head_ok and not self._warned:
                self._warned = True
                log.error("audit trail %s: its signed head does not match the trail; it is left "
                          "as it is as evidence (run verify)", self.path)
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

    def _insert(self, conn: Connection,
                prepared: list[tuple[str, str, str, str, dict[str, Any]]],
                signer: AuditSigner) -> tuple[list[AuditRecord], bool]:
        # The write lock is taken first (IMMEDIATE, or the advisory lock), so reading the head
        # and inserting the next record cannot interleave with another writer on any host.
        conn.begin(lock=_LOCK, timeout=self.timeout)
        try:
            seq, prev = self._head(conn)
            stored = _stored_head(conn)
            head_ok = self._head_continues(stored, seq, prev, signer)
            records, head = self._add(conn, prepared, seq, prev, signer if head_ok else None)
            if stored is None and seq > 0:
                self._advance_legacy_head(seq, prev, records[-1])
            conn.commit()  # synchronous=FULL / PostgreSQL's WAL: durable when this returns
        except BaseException:
            conn.rollback()
            raise
        if head_ok:
            self._last_head = head
        return records, head_ok

    @staticmethod
    def _add(conn: Connection, prepared: list[tuple[str, str, str, str, dict[str, Any]]],
             seq: int, prev: str, signer: AuditSigner | None) -> tuple[list[AuditRecord], str]:
        """Insert records after (seq, prev) and, given a signer, the signed head naming the last
        (inside the caller's transaction); the records and the head's JSON ("" if unsigned)."""
        records, rows = [], []
        for user, role, action, details_json, details in prepared:
            seq += 1
            ts = datetime.now(UTC).isoformat(timespec="microseconds")
            digest = _record_hash(seq, ts, user, role, action, details_json, prev)
            records.append(AuditRecord(seq, ts, user, role, action, details, prev, digest))
            rows.append((seq, ts, user, role, action, details_json, prev, digest))
            prev = digest
        conn.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        if signer is None:
            return records, ""
        head = sign_head(signer, seq, prev).to_json()
        # Same transaction as the records: the head never lags or leads the trail, not even
        # after a crash, which is what lets verify() be strict.
        conn.execute(_WRITE_HEAD, (head,))
        return records, head

    # -- the signed head ----------------------------------------------------------------------

    def _head_continues(self, stored: str | None, seq: int, digest: str,
                        signer: AuditSigner) -> bool:
        """Whether the stored head is a genuine head of this trail as it is (write lock held).

        If not, new records are still appended but the head is left alone: signing on from
        a forged or stale head would launder a truncation (review F3: an append after the
        cut moved the checkpoint forward and verify() said OK).
        """
        if stored is None:
            return seq == 0  # a fresh trail; records without a head stay without one
        try:
            head = SignedHead.parse(stored)
        except ValueError:
            return False
        if head.key != signer.key.fingerprint:
            # Fail closed: heads signed on with another key would verify under neither.
            raise AuditError(self.path, f"its head is signed by key {head.key[:16]}, but this "
                                        f"process signs with key {signer.key.fingerprint[:16]} "
                                        f"from {self.key_file}: point the audit key file "
                                        f"setting at the trail's key")
        if (head.seq, head.hash) != (seq, digest):
            return False
        return stored == self._last_head or head.signed_by(signer.key)

    def _signer_for(self, conn: Connection) -> AuditSigner:
        if self._signer is None:
            self._signer = self._load_signer(conn)
        return self._signer

    def _load_signer(self, conn: Connection) -> AuditSigner:
        """The key from the key file; a new one only for a trail that names no key yet."""
        try:
            try:
                signer = AuditSigner.from_file(self.key_file)
            except FileNotFoundError:
                if self._read_pinned(conn) is not None or _stored_head(conn) is not None:
                    # A new key would sign heads nobody should trust: the key was lost or
                    # the setting points elsewhere; either way a person must look.
                    raise AuditError(self.path, f"the key file {self.key_file} does not exist "
                                                f"but the trail is already signed (see "
                                                f"{self._pub_name}): restore the key "
                                                f"or set the audit key file to it") from None
                signer = AuditSigner.create_file(self.key_file)
        except AuditKeyError as exc:
            raise AuditError(self.path, str(exc)) from exc
        self._pin_public_key(conn, signer)
        return signer

    def _read_pinned(self, conn: Connection | None = None) -> bytes | None:
        """The pinned public key's PEM; None if there is none; OSError if unreadable."""
        if not self.shared:
            assert self.public_key_path is not None  # set for every SQLite trail
            try:
                return self.public_key_path.read_bytes()
            except FileNotFoundError:
                return None
        if conn is None:
            with self._reader() as own:
                return self._read_pinned(own)
        row = conn.execute("SELECT pem FROM audit_public_key WHERE id = 1").fetchone()
        return row[0].encode("ascii") if row else None

    def _write_pinned(self, conn: Connection, pem: bytes) -> None:
        if self.shared:
            # Outside the append transaction; ON CONFLICT: another server pinned it first.
            conn.execute("INSERT INTO audit_public_key (id, pem) VALUES (1, ?) "
                         "ON CONFLICT (id) DO NOTHING", (pem.decode("ascii"),))
            return
        assert self.public_key_path is not None  # set for every SQLite trail
        tmp = self.public_key_path.with_name(f"{self.public_key_path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pem)
        os.replace(tmp, self.public_key_path)

    def _pin_public_key(self, conn: Connection, signer: AuditSigner) -> None:
        """Pin the public key of a new trail; refuse a key that is not the one it names."""
        try:
            pem = self._read_pinned(conn)
            pinned = AuditKey.from_pem(pem).fingerprint if pem is not None else None
        except (OSError, AuditKeyError):
            return  # left as evidence for verify()
        if pinned is None:
            if _stored_head(conn) is None:  # a trail with a head but no .pub keeps lacking one
                try:
                    self._write_pinned(conn, signer.key.to_pem())
                except OSError as exc:
                    raise AuditError(self.path, f"cannot write the public key: {exc}") from exc
                if self.shared:  # a concurrent first append by another server may have won
                    self._pin_public_key(conn, signer)
        elif pinned != signer.key.fingerprint:
            raise AuditError(self.path, f"{self._pub_name} holds key {pinned[:16]}, "
                                        f"but this process signs with key "
                                        f"{signer.key.fingerprint[:16]} from {self.key_file}")

    def _trusted_key(self, witness: list[SignedHead]) -> tuple[AuditKey | None, str]:
        """The key heads must be signed with and where it came from; (None, why) if unknown."""
        if self._signer is not None:
            return self._signer.key, f"the key file {self.key_file}"
        try:
            return AuditSigner.from_file(self.key_file).key, f"the key file {self.key_file}"
        except FileNotFoundError:
            pass
        except AuditKeyError as exc:
            return None, str(exc)
        # Without the private key, only the public copy in the data home is left, and whoever
        # rewrote the trail could have swapped it: it counts only if a witness vouches for it.
        try:
            pem = self._read_pinned()
            if pem is None:
                raise FileNotFoundError(f"no public key in {self._pub_name}")
            public = AuditKey.from_pem(pem)
        except (OSError, AuditKeyError, AuditError) as exc:
            return None, (f"cannot check the head's signature: the key file {self.key_file} "
                          f"does not exist and the public key is unusable: {exc}")
        if any(w.key == public.fingerprint for w in witness):
            return public, f"{self._pub_name}, vouched for by the witness"
        named = {w.key[:16] for w in witness}
        return None, (f"cannot trust {self._pub_name} (key {public.fingerprint[:16]}): "
                      f"the key file {self.key_file} does not exist here and "
                      + (f"the witness names another key ({', '.join(sorted(named))}): the "
                         f"public key was swapped" if named else
                         "no witness names it; give one with --witness"))

    # -- trails from before signed heads -----------------------------------------------------

    def adopt_legacy(self, user: str, role: str) -> AuditRecord:
        """Sign the head of a trail from before signed heads, on the word of its legacy head.

        Refused (AuditError naming the problem) unless the trail has records, no signed head,
        an intact chain, and a legacy head file naming exactly its newest record: a file
        behind the trail, ahead of it, with another hash or missing was the old design's sign
        of tampering. Then, in one transaction, a `config_change` record of the adoption is
        appended and a head naming it is signed, and the file is renamed to `<db>.head.adopted`
        as evidence. Only an administrator may call this, never the code on its own: anyone
        who can write the home can make a signed trail look legacy (drop its head, write a
        head file), and adopting automatically would sign their truncation.
        """
        if self.legacy_head_path is None:
            raise AuditError(self.path, "not adopted: a PostgreSQL trail has no legacy head; "
                                        "adopt the SQLite trail before migrating it")
        with self._lock:
            signer = self._retrying(self._signer_for)
            record, head = self._retrying(lambda conn: self._adopt(conn, user, role, signer),
                                          writes=True)
        self._last_head = head
        adopted = self.legacy_head_path.with_name(self.legacy_head_path.name + ".adopted")
        try:
            os.replace(self.legacy_head_path, adopted)
        except OSError as exc:  # the trail is adopted either way; the file is only evidence
            log.error("audit trail %s adopted, but %s was not renamed to %s: %s", self.path,
                      self.legacy_head_path.name, adopted.name, exc)
        return record

    def _adopt(self, conn: Connection, user: str, role: str,
               signer: AuditSigner) -> tuple[AuditRecord, str]:
        def refuse(why: str) -> AuditError:
            return AuditError(self.path, f"not adopted: {why}")

        conn.begin(lock=_LOCK, timeout=self.timeout)  # nobody appends between checks and signing
        try:
            if _stored_head(conn) is not None:
                raise refuse("it already has a signed head; verify it with `copilot audit "
                             "verify`")
            walked = _walk(conn.execute(_SELECT + " ORDER BY seq"), None)
            if not walked.ok:
                raise refuse(f"its hash chain is broken: {walked.reason}")
            seq, digest = self._head(conn)
            if seq == 0:
                raise refuse("the trail is empty; a new trail signs its head by itself")
            assert self.legacy_head_path is not None  # adopt_legacy checked
            name = self.legacy_head_path.name
            try:
                legacy = _read_legacy_head(self.legacy_head_path)
            except ValueError as exc:
                raise refuse(f"the legacy head file {name} is unreadable: {exc}") from None
            if legacy is None:
                raise refuse(f"there is no legacy head file {name}, so nothing shows that no "
                             f"records were cut off the end")
            legacy_seq, legacy_hash = legacy
            if legacy_seq < seq:
                raise refuse(f"the legacy head file {name} names record {legacy_seq}, behind "
                             f"the trail's newest record {seq}: nothing vouches for records "
                             f"{legacy_seq + 1}-{seq} (added after the head file stopped being "
                             f"kept, or an older head file was put back)")
            if legacy_seq > seq:
                raise refuse(f"the legacy head file {name} names record {legacy_seq}, but the "
                             f"trail ends at record {seq}: the trail was truncated")
            if legacy_hash != digest:
                raise refuse(f"the legacy head file {name} names record {seq} with hash "
                             f"{legacy_hash[:16]}, but the trail's record {seq} has hash "
                             f"{digest[:16]}: the trail or the head file was rewritten")
            entry = self._prepare(user, role, "config_change", {
                "kind": "audit_adopt_legacy", "legacy_head": {"seq": seq, "hash": digest},
                "records": seq})
            records, head = self._add(conn, [entry], seq, digest, signer)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return records[0], head

    def _advance_legacy_head(self, seq: int, digest: str, newest: AuditRecord) -> None:
        """Keep an unadopted legacy trail's head file at its newest record (write lock held).

        Otherwise every append since the upgrade would leave the file behind, and
        adopt-legacy would rightly refuse the trail for good. The file moves only from exactly
        the trail's newest record, as the old design did, so it never vouches for more than
        it did before plus these records. Written before the commit, while SQLite's write
        lock keeps other writers out: a crash in between leaves the file ahead of the trail,
        which adopt-legacy refuses; it never leaves it silently behind.
        """
        if self.legacy_head_path is None:
            return
        try:
            if _read_legacy_head(self.legacy_head_path) == (seq, digest):
                _write_legacy_head(self.legacy_head_path, newest.seq, newest.hash)
        except (OSError, ValueError) as exc:  # the records still go in; the file is evidence
            log.error("audit trail %s: legacy head file not advanced to record %d: %s",
                      self.path, newest.seq, exc)

    # -- reading ------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the newest record; (0, 64 zeros) for an empty trail."""
        with self._reader() as conn:
            return self._head(conn)

    def verify(self, witness: Iterable[SignedHead] = ()) -> VerifyResult:
        """Walk the whole chain and check the signed head; report the first bad record.

        `witness` holds heads printed earlier and kept off the host: each must still be in
        the chain (same seq, same hash), which catches a roll-back to an older copy and a
        rewrite re-signed with the key.
        """
        witness = list(witness)
        key, key_source = self._trusted_key(witness)
        with self._reader() as conn:
            conn.begin_snapshot()  # one snapshot for the walk, the head and the witness
            try:
                stored = _stored_head(conn)
                try:
                    head, head_error = (SignedHead.parse(stored) if stored else None), ""
                except ValueError as exc:
                    head, head_error = None, f"the audit head is unreadable: {exc}"
                walked = _walk(conn.stream(_SELECT + " ORDER BY seq"), head)
                if not walked.ok:
                    return walked
                if head_error:
                    return VerifyResult(False, walked.records, None, head_error)
                verdict = _judge_head(walked.records, head, key, key_source)
                if (head is None and walked.records and self.legacy_head_path is not None
                        and self.legacy_head_path.exists()):
                    verdict = replace(verdict, reason=(
                        f"{verdict.reason}. The trail is from before heads were signed (it has "
                        f"a legacy head file {self.legacy_head_path.name}): an administrator "
                        f"who trusts it can run `copilot audit adopt-legacy`"))
                if verdict.ok and key is not None and walked.records:
                    verdict = self._judge_public_key_file(verdict, key, key_source)
                if verdict.ok and witness:  # key is None only for an empty trail here
                    verdict = _judge_witness(conn, verdict, witness, key)
                return verdict
            finally:
                conn.rollback()  # read only: nothing to keep

    def _judge_public_key_file(self, verdict: VerifyResult, key: AuditKey,
                               key_source: str) -> VerifyResult:
        try:
            pem = self._read_pinned()
            if pem is None:
                raise FileNotFoundError(f"no public key in {self._pub_name}")
            pinned = AuditKey.from_pem(pem).fingerprint
        except (OSError, AuditKeyError, AuditError) as exc:
            return replace(verdict, ok=False, head=None,
                           reason=f"the public key {self._pub_name} is missing or "
                                  f"unreadable: {exc}")
        if pinned != key.fingerprint:
            return replace(verdict, ok=False, head=None,
                           reason=f"{self._pub_name} holds key {pinned[:16]}, not "
                                  f"the trail's key {key.fingerprint[:16]} ({key_source}): the "
                                  f"public key was swapped")
        return verdict

    def records(self, start: datetime | None = None, end: datetime | None = None,
                user: str | None = None, action: str | None = None, limit: int | None = None,
                *, newest_first: bool = False) -> list[AuditRecord]:
        """Records with start <= ts < end (naive datetimes are taken as UTC), oldest first."""
        clauses, params = [], []
        for clause, value in (("ts >= ?", _ts_bound(start)), ("ts < ?", _ts_bound(end)),
                              ('"user" = ?', user), ("action = ?", action)):
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

        JSON holds every field exactly as it was hashed. CSV holds `details` as its canonical
        JSON text, but is meant to be opened in a spreadsheet, where a cell starting with
        = + - @ tab or CR runs as a formula and a failed login's user name can be anything
        (review F11): such cells, and cells starting with a quote, get one leading `'`. To
        recompute a hash from the CSV, strip one leading `'` from every cell that has one.
        (details always starts with `{`, and the hashes and times never need the quote.)
        """
        if fmt not in ("json", "csv"):
            raise AuditError(self.path, f"unknown export format {fmt!r}; formats: json, csv")
        records = self.records(start, end)
        if fmt == "json":
            return json.dumps([r.to_dict() for r in records], ensure_ascii=False, indent=2)
        out = io.StringIO()
        # CRLF (RFC 4180), not "\n": the writer quotes only cells holding a line terminator
        # character, and a user name with a bare CR would otherwise start a forged row.
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(FIELDS)
        for r in records:
            writer.writerow((r.seq, *map(_csv_cell, (r.ts, r.user, r.role, r.action,
                                                     _canonical(r.details), r.prev_hash, r.hash))))
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

    def _connection(self) -> Connection:
        """The writer connection (call with self._lock held); a new one after a fork, or after
        the database server dropped the old one."""
        if self._conn is not None and self._conn_pid == os.getpid() and self._conn.broken:
            self._conn.close()
            self._conn = None
        if self._conn is None or self._conn_pid != os.getpid():
            # A parent's connection is dropped, never closed (psycopg does not end a session
            # made by another process when the object goes; a test holds it to that).
            self._conn = self.db.connect(self.timeout)  # errors go to _retrying
            self._conn_pid = os.getpid()
        return self._conn

    def _connect(self) -> Connection:
        return self._retrying_plain(lambda: self.db.connect(self.timeout))

    @contextmanager
    def _reader(self) -> Iterator[Connection]:
        conn = self._connect()
        try:
            yield conn
        except StorageError as exc:
            raise AuditError(self.path, f"cannot read the trail: {exc.reason}") from exc
        finally:
            conn.close()

    @staticmethod
    def _head(conn: Connection) -> tuple[int, str]:
        row = conn.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def _retrying(self, operation: Callable[[Connection], T], *, writes: bool = False) -> T:
        """`operation(writer connection)`, retried while the database is busy, and once on a
        new connection when the server dropped the old one (e.g. it restarted) before the
        commit was sent. Call with self._lock held."""
        reconnected = False
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return operation(self._connection())
            except StorageUnavailableError as exc:
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                if exc.outcome_unknown:
                    # The COMMIT may have been stored: retrying could append it twice.
                    raise AuditError(self.path, f"the audit database connection broke while "
                                                f"a record was being committed; it may or may "
                                                f"not be stored (run `copilot audit verify`): "
                                                f"{exc.reason}") from exc
                if reconnected:
                    what = "nothing was recorded" if writes else "nothing was read"
                    raise AuditError(self.path, f"the audit database is unavailable, "
                                                f"{what}: {exc.reason}") from exc
                reconnected = True
            except StorageBusyError as exc:
                if time.monotonic() >= deadline:
                    raise AuditBusyError(self.path, self.timeout) from exc
                time.sleep(random.uniform(0.001, 0.01))
            except StorageError as exc:
                raise AuditError(self.path, exc.reason) from exc

    def _retrying_plain(self, operation: Callable[[], T]) -> T:
        # The busy timeout covers most waits, but SQLite returns SQLITE_BUSY without waiting
        # in some cases (e.g. while another connection recovers the WAL after a crash).
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return operation()
            except StorageBusyError as exc:
                if time.monotonic() >= deadline:
                    raise AuditBusyError(self.path, self.timeout) from exc
                time.sleep(random.uniform(0.001, 0.01))
            except StorageUnavailableError as exc:
                raise AuditError(self.path, f"the audit database is unavailable: "
                                            f"{exc.reason}") from exc
            except StorageError as exc:
                raise AuditError(self.path, exc.reason) from exc


def _stored_head(conn: Connection) -> str | None:
    """The stored head's JSON text; None if there is none."""
    try:
        row = conn.execute("SELECT head FROM audit_head WHERE id = 1").fetchone()
    except StorageError as exc:
        if "no such table" in str(exc):  # dropped by hand from an SQLite file: as good as missing
            return None
        raise
    return row[0] if row else None


def _read_legacy_head(path: Path | None) -> tuple[int, str] | None:
    """(seq, hash) from a legacy head file; None if there is none; ValueError if unreadable."""
    if path is None:
        return None
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
        raise ValueError(f"not a head file: {text[:80]!r}") from exc
    if type(seq) is not int or seq < 0 or not isinstance(digest, str) or len(digest) != 64:
        raise ValueError(f"not a head file: {text[:80]!r}")
    return seq, digest


def _write_legacy_head(path: Path, seq: int, digest: str) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"seq": seq, "hash": digest}))
        handle.flush()
        os.fsync(handle.fileno())  # never a half-written head file after a power cut
    os.replace(tmp, path)


def _ts_bound(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    # Same fixed-width format as stored timestamps, so text order is time order.
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# Cells a spreadsheet would run as a formula (review F11), and the quote itself, so that
# "strip one leading quote" undoes the neutralising for every cell without ambiguity.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def _csv_cell(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _walk(rows: Iterable[tuple[Any, ...]], head: SignedHead | None) -> VerifyResult:
    """The chain itself, record by record; ok with the number of records, or the first bad one."""
    def bad(seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, seq - 1, seq, reason)

    cp_seq, cp_hash = (head.seq, head.hash) if head else (-1, "")
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
            return bad(seq, f"record {seq} differs from the signed head: the trail was rewritten "
                            f"at or before record {seq}")
        prev = digest
        expected += 1
    return VerifyResult(True, expected - 1, None, "chain intact")


def _judge_head(tip: int, head: SignedHead | None, key: AuditKey | None,
                key_source: str) -> VerifyResult:
    """Whether a signed head by the trail's key names exactly the newest of `tip` records."""
    if head is None:
        if tip == 0:
            return VerifyResult(True, 0, None, "empty trail")
        return VerifyResult(False, tip, None, "the signed head is missing: nothing shows whether "
                                              "records were cut off the end")
    if head.seq > tip:
        return VerifyResult(False, tip, tip + 1, f"trail truncated: the signed head names record "
                                                 f"{head.seq} but the trail ends at record {tip}")
    if head.seq < tip:
        # Never a crash: the head commits with its records. An older head put back (over a
        # truncation, say), or appends made while the head did not match the trail.
        return VerifyResult(False, head.seq, head.seq + 1,
                            f"records {head.seq + 1}-{tip} are not covered by the signed head, "
                            f"which names record {head.seq}: an older head was put back, or "
                            f"records were added while the head was wrong")
    if key is None:
        return VerifyResult(False, tip, None, key_source)
    if head.key != key.fingerprint:
        return VerifyResult(False, tip, None, f"the head is signed by key {head.key[:16]}, not by "
                                              f"the trail's key {key.fingerprint[:16]} "
                                              f"({key_source}): a forged head, or the audit key "
                                              f"file setting names another key")
    if not head.signed_by(key):
        return VerifyResult(False, tip, None, "the head's signature is invalid: the head was "
                                              "forged or edited")
    return VerifyResult(True, tip, None, f"{tip} records verified, head signed by key "
                                         f"{key.fingerprint[:16]}", head)


def _judge_witness(conn: Connection, verdict: VerifyResult,
                   witness: list[SignedHead], key: AuditKey | None) -> VerifyResult:
    """Whether every witnessed head is still in the (already verified) chain.

    Without a key (a wiped trail, its public key gone too) the witness is still compared:
    its records being gone is the finding.
    """
    tip = verdict.records
    for w in witness:
        if key is not None and not w.signed_by(key):
            why = ("its signature is invalid" if w.key == key.fingerprint
                   else f"it is signed by key {w.key[:16]}")
            return replace(verdict, ok=False, head=None,
                           reason=f"witness head {w.seq} ({w.time}) is not a head of this trail's "
                                  f"key {key.fingerprint[:16]}: {why}")
        row = conn.execute("SELECT hash FROM audit WHERE seq = ?", (w.seq,)).fetchone()
        if row is None:
            return VerifyResult(False, tip, tip + 1,
                                f"the trail ends at record {tip}, but a witness saw record "
                                f"{w.seq} (head signed {w.time}): the trail was cut short or "
                                f"rolled back to an older copy")
        if row[0] != w.hash:
            return VerifyResult(False, tip, None,
                                f"record {w.seq} is not the one a witness saw (head signed "
                                f"{w.time}): the trail was rewritten at or before record "
                                f"{w.seq} and re-signed, or rolled back and continued")
    if not witness:
        return verdict
    return replace(verdict, reason=f"{verdict.reason}; {len(witness)} witnessed head(s) found in "
                                   f"the chain")
