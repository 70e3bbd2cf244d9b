"""Stored user accounts: name, role, salted scrypt password hash, enabled or disabled.

SQLite in WAL mode, so several UI workers and the admin CLI can read and write one store at
once. Every write is one `BEGIN IMMEDIATE` transaction (take the write lock first, then read
and write), so a read-then-write such as "add unless the name exists" cannot interleave with
another process. There is no delete: a user who leaves is disabled, and their name stays
taken, because audit records name them and a new person must never inherit that name.
"""

from __future__ import annotations

import random
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TypeVar

from .errors import (AccountStoreError, AuthenticationError, InvalidUserNameError,
                     UnknownRoleError, UnknownUserError, UserExistsError)
from .passwords import check_password_rules, dummy_hash, hash_password, verify_password
from .users import ROLES, User

MAX_NAME_LENGTH = 64

_SCHEMA = """CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, updated TEXT NOT NULL)"""
_COLUMNS = "name, role, disabled, created, updated"

T = TypeVar("T")


@dataclass(frozen=True)
class Account:
    """What may be shown about an account: never the password hash."""

    name: str
    role: str
    disabled: bool
    created: str  # UTC, ISO-8601
    updated: str

    def to_dict(self) -> dict:
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
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class UserStore:
    def __init__(self, path: Path, *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.timeout = timeout
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise AccountStoreError(self.path, f"cannot create its folder: {exc}") from exc
        self._write(lambda conn: conn.execute(_SCHEMA))

    # -- administration ---------------------------------------------------------------------

    def add(self, name: str, role: str, password: str) -> Account:
        validate_name(name)
        validate_role(role)
        # Hashed before the write lock is taken: scrypt takes tens of milliseconds.
        stored = hash_password(password)
        now = _now()

        def insert(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserExistsError(name)
            conn.execute("INSERT INTO users VALUES (?, ?, ?, 0, ?, ?)",
                         (name, role, stored, now, now))

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

    def _update(self, name: str, assignment: str, params: tuple) -> tuple[str, bool]:
        def update(conn: sqlite3.Connection) -> tuple[str, bool]:
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
            f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone())
        if row is None:
            raise UnknownUserError(name)
        return _account(row)

    def list(self) -> list[Account]:
        rows = self._read(lambda conn: conn.execute(
            f"SELECT {_COLUMNS} FROM users ORDER BY name").fetchall())
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
                "SELECT role, password_hash, disabled FROM users WHERE name = ?",
                (name,)).fetchone())
        if row is None:
            verify_password(password if isinstance(password, str) else "", dummy)
            raise AuthenticationError("unknown_user")
        role, stored, disabled = row
        if not verify_password(password, stored):
            raise AuthenticationError("wrong_password")
        if disabled:
            raise AuthenticationError("disabled")
        return User(name=name, role=role)

    # -- connections ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        # A connection per operation: cheap next to scrypt, and safe across fork and threads.
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.Error:
            conn.close()
            raise
        if str(mode).lower() != "wal":
            conn.close()
            raise AccountStoreError(self.path, f"cannot switch to WAL mode (got {mode!r})")
        conn.execute("PRAGMA synchronous=FULL")  # an added user survives a power cut
        return conn

    def _write(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        def transaction() -> T:
            conn = self._connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = operation(conn)
                    conn.execute("COMMIT")
                    return result
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                conn.close()

        return self._retrying(transaction)

    def _read(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        def read() -> T:
            conn = self._connect()
            try:
                return operation(conn)
            finally:
                conn.close()

        return self._retrying(read)

    def _retrying(self, operation: Callable[[], T]) -> T:
        # The busy timeout covers most waits, but SQLite answers SQLITE_BUSY at once in a few
        # cases (e.g. several processes switching a brand-new file to WAL together).
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return operation()
            except sqlite3.Error as exc:
                busy = getattr(exc, "sqlite_errorcode", None) in (5, 6) or "locked" in str(exc)
                if not busy:
                    raise AccountStoreError(self.path, f"database error: {exc}") from exc
                if time.monotonic() >= deadline:
                    raise AccountStoreError(self.path, f"stayed locked for more than "
                                                       f"{self.timeout:g} s") from exc
                time.sleep(random.uniform(0.001, 0.02))


def _account(row: tuple) -> Account:
    name, role, disabled, created, updated = row
    return Account(name=name, role=role, disabled=bool(disabled), created=created,
                   updated=updated)


__all__ = ["Account", "MAX_NAME_LENGTH", "UserStore", "check_password_rules", "validate_name",
           "validate_role"]
