"""Stored user accounts: name, role, salted scrypt password hash, enabled or disabled.

An SQLite file in WAL mode (the default), or PostgreSQL shared by several servers
(`storage`), so several UI workers, servers and the admin CLI can read and write one store at
once. Every write is one transaction that takes the write lock first (`BEGIN IMMEDIATE`, or
PostgreSQL's advisory lock), then reads and writes, so a read-then-write such as "add unless
the name exists" cannot interleave with another process on any host. There is no delete: a
user who leaves is disabled, and their name stays taken, because audit records name them and
a new person must never inherit that name.
"""

from __future__ import annotations

import os
import random
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

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
    as_database,
    open_schema,
)

from .errors import (
    AccountStoreError,
    AuthenticationError,
    InvalidUserNameError,
    UnknownRoleError,
    UnknownUserError,
    UserExistsError,
)
from .login_throttle import Backoff, Gate
from .passwords import check_password_rules, dummy_hash, hash_password, verify_password
from .users import ROLES, User

MAX_NAME_LENGTH = 64

_SQLITE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, updated TEXT NOT NULL)""",
    # Added in 2026-12 (security review F8). Separate tables rather than new `users` columns,
    # so that creating them if missing is the whole migration of an existing home. A row
    # exists only while an account has failures in a row: a successful login deletes it.
    # last_failure is Unix time (it must survive restarts); locked is the UTC time of the
    # lockout, NULL while the account is only being slowed down.
    """CREATE TABLE IF NOT EXISTS login_failures (
    name TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure REAL NOT NULL, locked TEXT)""",
    # Per-home secrets, e.g. the key for hashing unknown login names in the audit trail.
    "CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
)
_PG_SCHEMA = (
    """CREATE TABLE users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, updated TEXT NOT NULL)""",
    """CREATE TABLE login_failures (
    name TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure DOUBLE PRECISION NOT NULL,
    locked TEXT)""",
    "CREATE TABLE secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL)",
)


def _create(conn: Connection) -> None:
    for statement in _PG_SCHEMA if conn.dialect == POSTGRESQL else _SQLITE_SCHEMA:
        conn.execute(statement)
    # Made here, with the tables, so that a login only ever reads it.
    conn.execute("INSERT INTO secrets (name, value) VALUES ('login_name_key', ?) "
                 "ON CONFLICT DO NOTHING", (os.urandom(32),))


SCHEMA = Schema("accounts", (
    Migration(1, "users, login failures, per-home secrets", _create, _create),
), grants=(("users", "SELECT, INSERT, UPDATE"),  # no delete: a name stays taken
           ("login_failures", "SELECT, INSERT, UPDATE, DELETE"), ("secrets", "SELECT, INSERT")))
_COLUMNS = ("users.name, role, disabled, created, updated, locked IS NOT NULL "
            "FROM users LEFT JOIN login_failures USING (name)")

T = TypeVar("T")


@dataclass(frozen=True)
class Account:
    """What may be shown about an account: never the password hash."""

    name: str
    role: str
    disabled: bool
    created: str  # UTC, ISO-8601
    updated: str
    locked: bool = False  # by repeated failed logins, until an admin unlocks it

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def validate_name(name: object) -> str:
    if not isinstance(name, str) or not name:
        raise InvalidUserNameError(name, "it must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidUserNameError(name, f"it must have at most {MAX_NAME_LENGTH} characters")
    # Z* are spaces and separators, C* control and invisible format characters: a name that
    # looks like another on screen or in an audit export would make the trail ambiguous.
    for char in name:
        if unicodedata.category(char)[0] in "ZC":
            raise InvalidUserNameError(name, f"it contains whitespace or a control character "
                                             f"(U+{ord(char):04X})")
    return name


def validate_role(role: object) -> str:
    if role not in ROLES:
        raise UnknownRoleError(str(role), ROLES)
    return role  # type: ignore[return-value]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class UserStore:
    """`location`: the SQLite file, or a `storage.Database` (PostgreSQL, migrated by
    `copilot db upgrade`)."""

    def __init__(self, location: Path | Database, *, timeout: float = 30.0) -> None:
        self.db = as_database(location)
        self.path = (Location(self.db) if self.db.dialect == POSTGRESQL
                     else Path(cast(SQLiteDatabase, self.db).path))
        self.timeout = timeout
        if self.db.dialect != POSTGRESQL:
            try:
                cast(Path, self.path).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise AccountStoreError(self.path, f"cannot create its folder: {exc}") from exc
        self._name_key: bytes | None = None
        self._retrying(lambda: open_schema(self.db, SCHEMA, timeout=self.timeout), self.timeout)

    # -- administration ---------------------------------------------------------------------

    def add(self, name: str, role: str, password: str) -> Account:
        validate_name(name)
        validate_role(role)
        # Hashed before the write lock is taken: scrypt takes tens of milliseconds.
        stored = hash_password(password)
        now = _now()

        def insert(conn: Connection) -> None:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserExistsError(name)
            conn.execute("INSERT INTO users (name, role, password_hash, disabled, created, "
                         "updated) VALUES (?, ?, ?, 0, ?, ?)", (name, role, stored, now, now))

        self._write(insert)
        return Account(name, role, False, now, now)

    def set_role(self, name: str, role: str) -> str:
        """Give the user a new role; returns the role they had (read in the same transaction,
        so the audit record's "before" is exact even with concurrent admins)."""
        validate_role(role)
        return self._update(name, "role = ?", (role,))[0]

    def set_password(self, name: str, password: str) -> None:
        stored = hash_password(password)
        self._update(name, "password_hash = ?", (stored,))

    def disable(self, name: str) -> bool:
        """Refuse all further logins; returns whether the account was disabled before."""
        return self._update(name, "disabled = 1", ())[1]

    def enable(self, name: str) -> bool:
        """Allow logins again; returns whether the account was disabled before."""
        return self._update(name, "disabled = 0", ())[1]

    def _update(self, name: str, assignment: str, params: tuple[Any, ...]) -> tuple[str, bool]:
        def update(conn: Connection) -> tuple[str, bool]:
            row = conn.execute("SELECT role, disabled FROM users WHERE name = ?",
                               (name,)).fetchone()
            if row is None:
                raise UnknownUserError(name)
            conn.execute(f"UPDATE users SET {assignment}, updated = ? WHERE name = ?",
                         (*params, _now(), name))
            return row[0], bool(row[1])

        return self._write(update)

    # -- reading ----------------------------------------------------------------------------

    def get(self, name: str) -> Account:
        row = self._read(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} WHERE users.name = ?", (name,)).fetchone())
        if row is None:
            raise UnknownUserError(name)
        return _account(row)

    def list(self) -> list[Account]:
        rows = self._read(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} ORDER BY users.name").fetchall())
        return [_account(row) for row in rows]

    def authenticate(self, name: str, password: str) -> User:
        """The user for a correct name and password of an enabled account.

        Every refusal raises the same `AuthenticationError` message after the same scrypt
        work: an unknown name is checked against a dummy hash, and a disabled account's
        password is still checked, so neither the message nor the time tells which it was.
        """
        dummy = dummy_hash()  # made on the first call, whatever its outcome
        row = None
        if isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH:
            row = self._read(lambda conn: conn.execute(
                "SELECT role, password_hash, disabled, locked IS NOT NULL FROM users "
                "LEFT JOIN login_failures USING (name) WHERE name = ?", (name,)).fetchone())
        if row is None:
            verify_password(password if isinstance(password, str) else "", dummy)
            raise AuthenticationError("unknown_user")
        role, stored, disabled, locked = row
        if not verify_password(password, stored):
            raise AuthenticationError("wrong_password")
        if disabled:
            raise AuthenticationError("disabled")
        # Normally refused earlier, without a check, by `begin_login`; this keeps a caller
        # that skips the throttle from logging in to a locked account.
        if locked:
            raise AuthenticationError("locked")
        return User(name=name, role=role)

    # -- throttling and lockout (see login_throttle.py) -------------------------------------

    def begin_login(self, name: str, policy: Backoff, now: float, *,
                    timeout: float | None = None) -> Gate | None:
        """Claim one login attempt for an account; None when no account has that name.

        The attempt is counted as a failure at once, in the same write transaction that reads
        the count, so parallel attempts cannot all slip through one back-off window; a
        successful login then deletes the count (`login_succeeded`)."""
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_LENGTH:
            return None

        def claim(conn: Connection) -> Gate | None:
            if not conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                return None
            row = conn.execute("SELECT failures, last_failure, locked FROM login_failures "
                               "WHERE name = ?", (name,)).fetchone()
            failures, last, locked = row if row else (0, 0.0, None)
            if locked is not None:
                return Gate("locked", failures)
            verdict = policy.verdict(failures, last, now)
            # A lowered lock_after locks an account already past it at its next attempt.
            locked_now = verdict == "locked" or (verdict == "backoff"
                                                 and policy.locks(failures + 1))
            if verdict != "locked":
                failures += 1
            conn.execute("INSERT INTO login_failures (name, failures, last_failure, locked) "
                         "VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET "
                         "failures = excluded.failures, last_failure = excluded.last_failure, "
                         "locked = excluded.locked",
                         (name, failures, now, _now() if locked_now else None))
            return Gate("locked" if locked_now else verdict, failures, locked_now)

        return self._write(claim, timeout)

    def login_failed(self, name: str, policy: Backoff, *,
                     timeout: float | None = None) -> bool:
        """After a wrong password for a claimed attempt: lock the account if this failure
        reaches the limit. Returns whether it locked it."""
        def lock(conn: Connection) -> bool:
            row = conn.execute("SELECT failures FROM login_failures WHERE name = ? AND "
                               "locked IS NULL", (name,)).fetchone()
            if row is None or not policy.locks(row[0]):
                return False
            conn.execute("UPDATE login_failures SET locked = ? WHERE name = ?", (_now(), name))
            return True

        return self._write(lock, timeout)

    def login_succeeded(self, name: str, *, timeout: float | None = None) -> None:
        """Forget the failures in a row (never a lock: a locked account cannot succeed)."""
        self._write(lambda conn: conn.execute(
            "DELETE FROM login_failures WHERE name = ? AND locked IS NULL", (name,)), timeout)

    def unlock(self, name: str) -> bool:
        """Clear a lockout and the failure count; returns whether the account was locked."""
        def clear(conn: Connection) -> bool:
            if not conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UnknownUserError(name)
            row = conn.execute("SELECT locked FROM login_failures WHERE name = ?",
                               (name,)).fetchone()
            conn.execute("DELETE FROM login_failures WHERE name = ?", (name,))
            return row is not None and row[0] is not None

        return self._write(clear)

    def name_key(self) -> bytes:
        """This home's secret for keyed hashes of login names (made with the store)."""
        if self._name_key is None:
            self._name_key = bytes(self._read(lambda conn: conn.execute(
                "SELECT value FROM secrets WHERE name = 'login_name_key'").fetchone()[0]))
        return self._name_key

    # -- connections ------------------------------------------------------------------------

    def _write(self, operation: Callable[[Connection], T],
               timeout: float | None = None) -> T:
        # A shorter timeout for login's writes: a busy store must refuse a login in a
        # second or two, not hold the login request for the full 30 s.
        timeout = self.timeout if timeout is None else timeout

        def transaction() -> T:
            # A connection per operation: cheap next to scrypt, and safe across fork and threads.
            with self.db.connect(timeout) as conn:
                conn.begin(lock="accounts", timeout=timeout)
                try:
                    result = operation(conn)
                    conn.commit()
                    return result
                except BaseException:
                    conn.rollback()
                    raise

        return self._retrying(transaction, timeout)

    def _read(self, operation: Callable[[Connection], T]) -> T:
        def read() -> T:
            with self.db.connect(self.timeout) as conn:
                return operation(conn)

        return self._retrying(read, self.timeout)

    def _retrying(self, operation: Callable[[], T], timeout: float) -> T:
        # The busy timeout covers most waits, but SQLite answers SQLITE_BUSY at once in a few
        # cases (e.g. several processes switching a brand-new file to WAL together).
        deadline = time.monotonic() + timeout
        while True:
            try:
                return operation()
            except StorageBusyError as exc:
                if time.monotonic() >= deadline:
                    raise AccountStoreError(self.path, f"stayed locked for more than "
                                                       f"{timeout:g} s") from exc
                time.sleep(random.uniform(0.001, 0.02))
            except StorageError as exc:
                raise AccountStoreError(self.path, exc.reason) from exc


def _account(row: tuple[Any, ...]) -> Account:
    name, role, disabled, created, updated, locked = row
    return Account(name=name, role=role, disabled=bool(disabled), created=created,
                   updated=updated, locked=bool(locked))


__all__ = ["Account", "MAX_NAME_LENGTH", "UserStore", "check_password_rules", "validate_name",
           "validate_role"]
