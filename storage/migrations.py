"""Versioned schema migrations, one numbered list per store (hand-written: four small stores
with a few tables each do not need Alembic's autogenerate or SQLAlchemy models).

Each database keeps `copilot_schema (component, version, upgraded_at)`. A store declares its
`Schema`: a component name and its migrations 1..N, each with the SQL for both databases.

- An SQLite file is embedded and belongs to one home: it is migrated when it is opened (a file
  from before versioning is version 0; migration 1 is the old `CREATE ... IF NOT EXISTS`
  schema, so it adopts such a file as it is).
- A PostgreSQL database is shared by several servers: only `copilot db upgrade` migrates it,
  and a store refuses to open one that is older or newer than its code (`SchemaError`), so a
  half-upgraded cluster cannot write with two schemas.

Migrations run inside one transaction holding the `schema` lock, so two `db upgrade` runs at
once apply each migration once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from .database import POSTGRESQL, Connection, Database
from .errors import SchemaError

Step = Sequence[str] | Callable[[Connection], None]

_VERSION_TABLE = ("CREATE TABLE IF NOT EXISTS copilot_schema (component TEXT PRIMARY KEY, "
                  "version INTEGER NOT NULL, upgraded_at TEXT NOT NULL)")


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sqlite: Step
    postgresql: Step

    def apply(self, conn: Connection) -> None:
        step = self.postgresql if conn.dialect == POSTGRESQL else self.sqlite
        if callable(step):
            step(conn)
            return
        for statement in step:
            conn.script(statement) if conn.dialect == POSTGRESQL else conn.execute(statement)


@dataclass(frozen=True)
class Schema:
    component: str
    migrations: tuple[Migration, ...]
    # PostgreSQL: table -> the rights the copilot's own role needs (`grant`). Append-only
    # tables get SELECT, INSERT only, so that role cannot change a record even with the
    # triggers disabled (which only a table's owner can do).
    grants: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        numbers = [m.version for m in self.migrations]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{self.component}: migrations must be numbered 1..N, got {numbers}")

    @property
    def latest(self) -> int:
        return len(self.migrations)


def current_version(conn: Connection, component: str) -> int:
    """The component's schema version in this database; 0 before any migration."""
    if not _has_version_table(conn):
        return 0
    row = conn.execute("SELECT version FROM copilot_schema WHERE component = ?",
                       (component,)).fetchone()
    return int(row[0]) if row else 0


def _has_version_table(conn: Connection) -> bool:
    if conn.dialect == POSTGRESQL:
        row = conn.execute("SELECT to_regclass('copilot_schema') IS NOT NULL").fetchone()
        return bool(row[0])
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'copilot_schema'").fetchone()
    return row is not None


def upgrade(db: Database, schema: Schema, *, timeout: float = 60.0) -> tuple[int, int]:
    """Apply the pending migrations in one transaction; (version before, version after)."""
    with db.connect(timeout) as conn:
        # Read first, without the write lock: an up-to-date database (nearly always) is then
        # opened without queueing behind its writers.
        found = current_version(conn, schema.component)
        _refuse_newer(db, schema, found)
        if found == schema.latest:
            return found, found
        conn.begin(lock="copilot_schema", timeout=timeout)
        try:
            conn.execute(_VERSION_TABLE)
            before = current_version(conn, schema.component)
            _refuse_newer(db, schema, before)
            for migration in schema.migrations[before:]:
                migration.apply(conn)
            if before != schema.latest:
                conn.execute("INSERT INTO copilot_schema (component, version, upgraded_at) "
                             "VALUES (?, ?, ?) ON CONFLICT (component) DO UPDATE SET "
                             "version = excluded.version, upgraded_at = excluded.upgraded_at",
                             (schema.component, schema.latest,
                              datetime.now(UTC).isoformat(timespec="seconds")))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return before, schema.latest


def require(db: Database, schema: Schema, conn: Connection | None = None) -> None:
    """Refuse (SchemaError) a database whose schema is not exactly this code's version."""
    if conn is None:
        with db.connect() as own:
            return require(db, schema, own)
    version = current_version(conn, schema.component)
    _refuse_newer(db, schema, version)
    if version < schema.latest:
        state = "has no copilot schema yet" if version == 0 else f"is at version {version}"
        raise SchemaError(db.where, f"the {schema.component} schema {state}, this copilot needs "
                                    f"version {schema.latest}: run `copilot db upgrade` first")


def _refuse_newer(db: Database, schema: Schema, version: int) -> None:
    if version > schema.latest:
        raise SchemaError(db.where, f"the {schema.component} schema is at version {version}, "
                                    f"newer than this copilot's {schema.latest}: it was "
                                    f"upgraded by a newer copilot; upgrade this one")


def open_schema(db: Database, schema: Schema, *, timeout: float = 60.0) -> None:
    """What a store does on open: migrate an embedded file, check a shared server."""
    if db.auto_migrate:
        upgrade(db, schema, timeout=timeout)
    else:
        require(db, schema)


def status(db: Database, schemas: Sequence[Schema]) -> list[tuple[str, int, int]]:
    """(component, version in the database, version of this code) for each schema."""
    with db.connect() as conn:
        return [(s.component, current_version(conn, s.component), s.latest) for s in schemas]


def grant(db: Database, role: str, schemas: Sequence[Schema], *, create: bool = False) -> None:
    """Give a PostgreSQL role exactly the rights the copilot needs on these schemas' tables
    (run as the tables' owner, after `upgrade`); with `create`, make it a login role first."""
    if db.dialect != POSTGRESQL:
        raise SchemaError(db.where, "roles and rights exist only on PostgreSQL")
    from psycopg import sql

    who = sql.Identifier(role)
    with db.connect() as conn:
        conn.begin(lock="copilot_schema")
        try:
            for schema in schemas:
                for table, _ in schema.grants:
                    if not conn.execute("SELECT to_regclass(?) IS NOT NULL", (table,)
                                        ).fetchone()[0]:
                        raise SchemaError(db.where, f"table {table} of the {schema.component} "
                                                    f"store does not exist: run `copilot db "
                                                    f"upgrade` first")
            if create:
                conn.raw.execute(sql.SQL("CREATE ROLE {} LOGIN").format(who))
            conn.raw.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                sql.Identifier(conn.execute("SELECT current_database()").fetchone()[0]), who))
            conn.raw.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(conn.execute("SELECT current_schema()").fetchone()[0]), who))
            conn.raw.execute(sql.SQL("GRANT SELECT ON copilot_schema TO {}").format(who))
            for schema in schemas:
                for table, rights in schema.grants:
                    words = [w.strip().upper() for w in rights.split(",")]
                    if not set(words) <= {"SELECT", "INSERT", "UPDATE", "DELETE"}:
                        raise ValueError(f"{schema.component}: unknown rights {rights!r}")
                    conn.raw.execute(sql.SQL("GRANT {} ON {} TO {}").format(
                        sql.SQL(", ").join(map(sql.SQL, words)), sql.Identifier(table), who))
            conn.raw.execute(sql.SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                sql.Identifier(conn.execute("SELECT current_schema()").fetchone()[0]), who))
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
