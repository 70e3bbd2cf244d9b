"""One storage layer over two databases: an SQLite file (the embedded default) or PostgreSQL.

The stores write their SQL once, with `?` placeholders and syntax both databases accept
(`INSERT ... ON CONFLICT`, `RETURNING`, quoted "user"); what differs is here:

- placeholders (`?` becomes `%s` for psycopg);
- how a writer serialises a read-then-write: SQLite's `BEGIN IMMEDIATE` takes the file's
  write lock, PostgreSQL's `BEGIN` plus a transaction-scoped advisory lock named by the store
  (`begin(lock=...)`), so several processes on several hosts queue in the database itself;
- a read snapshot (`BEGIN` in SQLite's WAL mode, REPEATABLE READ in PostgreSQL);
- errors, translated into `StorageBusyError` (retry), `StorageUnavailableError` (the server is
  away or the connection was cut) and `StorageError`.

Connections are in autocommit mode, so every transaction is an explicit BEGIN ... COMMIT,
which is how the SQLite stores were already written (isolation_level=None).
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, SupportsIndex
from urllib.parse import urlsplit, urlunsplit

from .errors import DatabaseUrlError, StorageBusyError, StorageError, StorageUnavailableError

SQLITE, POSTGRESQL = "sqlite", "postgresql"
_LOCK_NAME = re.compile(r"[a-z][a-z_-]*")
_PG_SCHEMES = ("postgresql", "postgres")


class Cursor(Protocol):
    """What the stores use of a driver's cursor (sqlite3's and psycopg's both have it)."""

    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int = ...) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Row(tuple[Any, ...]):
    """A result row read by position or by column name, like sqlite3.Row."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: str | SupportsIndex | slice) -> Any:
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError:
                raise IndexError(f"no column named {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _named_row_factory(cursor: Any) -> type[Row]:
    names = [column.name for column in cursor.description or ()]
    cls = type("Row", (Row,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})
    return cls


@functools.lru_cache(maxsize=512)
def _pg_sql(sql: str) -> str:
    # The stores' SQL holds no literal '?' or '%'; a test keeps it so.
    return sql.replace("?", "%s")


class Connection:
    """A connection to either database with one API (see the module docstring)."""

    def __init__(self, raw: Any, dialect: str, where: str) -> None:
        self.raw = raw
        self.dialect = dialect
        self.where = where

    # -- statements --------------------------------------------------------------------------

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement; returns a cursor (fetchone, fetchall, iteration, rowcount)."""
        cursor: Cursor
        with self._translated():
            if self.dialect == SQLITE:
                cursor = self.raw.execute(sql, params)
            else:
                cursor = self.raw.execute(_pg_sql(sql), params or None)
        return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        with self._translated():
            if self.dialect == SQLITE:
                self.raw.executemany(sql, rows)
            else:
                with self.raw.cursor() as cursor:
                    cursor.executemany(_pg_sql(sql), rows)

    def script(self, sql: str) -> None:
        """Several statements separated by `;` (schema scripts, without parameters)."""
        with self._translated():
            if self.dialect == SQLITE:
                # executescript would COMMIT an open transaction first: split instead.
                for statement in _split_statements(sql):
                    self.raw.execute(statement)
            else:
                self.raw.execute(sql)

    def stream(self, sql: str, params: Sequence[Any] = (), batch: int = 5000) -> Iterator[tuple[Any, ...]]:
        """Rows of a large result without holding them all in memory (inside a transaction)."""
        if self.dialect == SQLITE:
            cursor = self.execute(sql, params)
            with self._translated():
                yield from cursor
            return
        with self._translated():
            with self.raw.cursor(name="copilot_stream") as cursor:
                cursor.itersize = batch
                cursor.execute(_pg_sql(sql), params or None)
                yield from cursor

    # -- transactions ------------------------------------------------------------------------

    def begin(self, lock: str | None = None, timeout: float | None = None) -> None:
        """Start a write transaction. With `lock`, writers of that name queue for each other
        until commit, on any host (SQLite: the file's write lock, whatever the name)."""
        if self.dialect == SQLITE:
            self.execute("BEGIN IMMEDIATE")
            return
        # One round trip (a parameterless multi-statement query): the lock name is a store's
        # own constant, checked here, never user input.
        statements = ["BEGIN"]
        if timeout is not None:
            # Advisory locks wait for ever by default; a busy store must refuse in time.
            statements.append(f"SET LOCAL lock_timeout = '{max(1, int(timeout * 1000))}ms'")
        if lock is not None:
            if not _LOCK_NAME.fullmatch(lock):
                raise ValueError(f"lock names are lowercase words, got {lock!r}")
            statements.append(f"SELECT pg_advisory_xact_lock(hashtext(current_schema() || "
                              f"'/{lock}'))")
        self.execute("; ".join(statements))

    def begin_snapshot(self) -> None:
        """Start a read-only transaction that sees one consistent state throughout."""
        if self.dialect == SQLITE:
            self.execute("BEGIN")
        else:
            self.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def commit(self) -> None:
        try:
            self.execute("COMMIT")
        except StorageUnavailableError as exc:
            # The COMMIT may have reached the server before the connection broke.
            raise StorageUnavailableError(self.where, f"{exc.reason}; the connection broke "
                                                      f"during COMMIT, so whether the "
                                                      f"transaction was stored is unknown",
                                          outcome_unknown=True) from exc

    def rollback(self) -> None:
        if self.in_transaction:
            try:
                self.execute("ROLLBACK")
            except StorageUnavailableError:
                pass  # a lost connection rolled back on the server already

    @property
    def in_transaction(self) -> bool:
        if self.dialect == SQLITE:
            return bool(self.raw.in_transaction)
        import psycopg

        return bool(self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)

    @property
    def broken(self) -> bool:
        """Whether this connection can no longer be used (a new one is needed)."""
        if self.dialect == SQLITE:
            return False
        return bool(self.raw.closed or self.raw.broken)

    def close(self) -> None:
        try:
            self.raw.close()
        except Exception:  # closing a broken connection must not hide the first error
            pass

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- errors ------------------------------------------------------------------------------

    def _translated(self) -> _translate:
        return _translate(self.where, self.dialect)


class _translate:
    """Driver exceptions -> storage exceptions (a class, not @contextmanager: it is hot)."""

    __slots__ = ("where", "dialect")

    def __init__(self, where: str, dialect: str) -> None:
        self.where, self.dialect = where, dialect

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        if exc is None or isinstance(exc, StorageError):
            return False
        if self.dialect == SQLITE:
            if isinstance(exc, sqlite3.Error):
                raise _sqlite_error(self.where, exc) from exc
            return False
        import psycopg

        if isinstance(exc, psycopg.Error):
            raise _pg_error(self.where, exc) from exc
        return False


def _sqlite_error(where: str, exc: sqlite3.Error) -> StorageError:
    busy = getattr(exc, "sqlite_errorcode", None) in (5, 6) or "locked" in str(exc)
    if busy:
        return StorageBusyError(where, f"database is locked: {exc}")
    return StorageError(where, f"database error: {exc}")


def _pg_error(where: str, exc: Exception) -> StorageError:
    import psycopg
    from psycopg import errors as pg

    if isinstance(exc, (pg.LockNotAvailable, pg.QueryCanceled, pg.SerializationFailure,
                        pg.DeadlockDetected)):
        return StorageBusyError(where, f"database is busy: {_pg_message(exc)}")
    # AdminShutdown (pg_terminate_backend, a server restart) is an OperationalError too;
    # InterfaceError is a connection that is already closed.
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        return StorageUnavailableError(where, f"the PostgreSQL server is unreachable or the "
                                              f"connection was lost: {_pg_message(exc)}")
    return StorageError(where, f"database error: {_pg_message(exc)}")


def _pg_message(exc: Exception) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def _split_statements(script: str) -> list[str]:
    """Statements of a schema script; a trigger body (BEGIN ... END;) stays whole."""
    statements, current, depth = [], [], 0
    for part in script.split(";"):
        current.append(part)
        text = ";".join(current)
        depth = _words(text).count("BEGIN") - _words(text).count("END")
        if depth <= 0:
            if text.strip():
                statements.append(text.strip())
            current = []
    if current and ";".join(current).strip():
        statements.append(";".join(current).strip())
    return statements


def _words(text: str) -> list[str]:
    return [w.strip("(),").upper() for w in text.split()]


# -- the databases -----------------------------------------------------------------------------

class Database(ABC):
    """Where a store's tables live; `connect()` gives a `Connection`."""

    dialect: str
    where: str  # for messages: a file path, or a URL without its password
    auto_migrate: bool  # embedded files migrate on open; a shared server only by `db upgrade`

    @abstractmethod
    def connect(self, timeout: float = 30.0, named_rows: bool = False) -> Connection:
        """A new connection; `named_rows` gives rows readable by column name too."""


class SQLiteDatabase(Database):
    dialect = SQLITE
    auto_migrate = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.where = str(self.path)

    def connect(self, timeout: float = 30.0, named_rows: bool = False) -> Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            raw = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                  check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(self.where, f"cannot open the database: {exc}") from exc
        conn = Connection(raw, SQLITE, self.where)
        if named_rows:
            raw.row_factory = sqlite3.Row
        try:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(self.where, f"cannot switch the database to WAL mode "
                                               f"(got {mode!r})")
            conn.execute("PRAGMA synchronous=FULL")  # committed means on disk
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def __repr__(self) -> str:
        return f"SQLiteDatabase({self.where!r})"


class PostgresDatabase(Database):
    dialect = POSTGRESQL
    auto_migrate = False

    def __init__(self, url: str, *, connect_timeout: float = 5.0) -> None:
        self.url = check_postgres_url(url)
        self.where = redact_url(self.url)
        self.connect_timeout = connect_timeout

    def connect(self, timeout: float = 30.0, named_rows: bool = False) -> Connection:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - a dependency of the package
            raise StorageError(self.where, f"psycopg (3) is not installed: {exc}") from exc
        try:
            raw = psycopg.connect(self.url, autocommit=True,
                                  connect_timeout=max(1, int(self.connect_timeout)),
                                  application_name="operator-copilot",
                                  row_factory=_named_row_factory if named_rows else
                                  psycopg.rows.tuple_row)
        except psycopg.Error as exc:
            raise StorageUnavailableError(self.where, f"cannot connect to PostgreSQL: "
                                                      f"{_pg_message(exc)}") from exc
        return Connection(raw, POSTGRESQL, self.where)

    def __repr__(self) -> str:
        return f"PostgresDatabase({self.where!r})"


def check_postgres_url(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise DatabaseUrlError("COPILOT_DATABASE_URL", "it is empty")
    scheme = urlsplit(url.strip()).scheme.split("+")[0].lower()
    if scheme not in _PG_SCHEMES:
        raise DatabaseUrlError("COPILOT_DATABASE_URL",
                               f"{redact_url(url)!r} is not a PostgreSQL URL: it must start "
                               f"with postgresql:// (unset it to use SQLite files in the home)")
    # psycopg does not know SQLAlchemy's "postgresql+psycopg://" spelling.
    return "postgresql" + url.strip()[len(urlsplit(url.strip()).scheme):]


def redact_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def open_database(url: str | None, sqlite_path: str | Path) -> Database:
    """PostgreSQL at `url` when it is set; otherwise the SQLite file `sqlite_path`."""
    if url:
        return PostgresDatabase(url)
    return SQLiteDatabase(sqlite_path)


class Location(str):
    """A PostgreSQL store's `path`: the URL without its password (for messages), which also
    opens the same database again when given back to a store (`AuditTrail(trail.path)`)."""

    database: Database

    def __new__(cls, database: Database) -> Location:
        self = super().__new__(cls, database.where)
        self.database = database
        return self


def as_database(location: str | os.PathLike[str] | Database) -> Database:
    """A store's argument: a Database or Location as it is, a path as an SQLite file."""
    if isinstance(location, Database):
        return location
    if isinstance(location, Location):
        return location.database
    return SQLiteDatabase(location)
