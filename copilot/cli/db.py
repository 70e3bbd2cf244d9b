"""`copilot db`: the schema of the store (SQLite files in the home, or COPILOT_DATABASE_URL's
PostgreSQL), its migrations, the copilot's own PostgreSQL role, and moving a home into it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from guardrails import AuditTrail
from guardrails.audit import SCHEMA as AUDIT_SCHEMA
from guardrails.user_store import SCHEMA as ACCOUNTS_SCHEMA
from knowledge.catalog import SCHEMA as CATALOG_SCHEMA
from storage import (
    POSTGRESQL,
    Connection,
    Database,
    Schema,
    SQLiteDatabase,
    StorageError,
    grant,
    status,
    upgrade,
)

from ..build import build_database
from ..errors import CopilotError
from ..settings import HOME_FILES, Settings
from ..training.store import SCHEMA as TRAINING_SCHEMA
from .output import EXPECTED_ERRORS, err, fail, out

db_app = typer.Typer(help="The database: schema migrations, the app role, moving a home in.",
                     no_args_is_help=True)


def schemas() -> list[tuple[Schema, str]]:
    """Every store's schema and its SQLite file within the home."""
    return [(AUDIT_SCHEMA, HOME_FILES["audit"]), (ACCOUNTS_SCHEMA, HOME_FILES["accounts"]),
            (TRAINING_SCHEMA, HOME_FILES["training"]), (CATALOG_SCHEMA, HOME_FILES["catalog"])]


def component_databases(settings: Settings) -> list[tuple[Schema, Database]]:
    home = settings.home_dir
    return [(schema, build_database(settings, home / relative)) for schema, relative in schemas()]


def check_schemas(settings: Settings) -> None:
    """Refuse (CopilotError) a shared database that is not at this code's schema versions:
    a server must not start on an unmigrated or newer schema. SQLite files migrate on open."""
    problems = []
    for schema, db in component_databases(settings):
        if db.auto_migrate:
            continue
        try:
            [(component, have, need)] = status(db, [schema])
        except StorageError as exc:
            raise CopilotError(str(exc)) from exc
        if have != need:
            problems.append(f"{component} is at version {have}, this copilot needs {need}")
    if problems:
        raise CopilotError("the database schema does not match this copilot ("
                           + "; ".join(problems) + "): run `copilot db upgrade` with this "
                           "copilot (a newer schema needs a newer copilot)")


def grant_app_role(db: Database, role: str, *, create: bool = False) -> None:
    grant(db, role, [schema for schema, _ in schemas()], create=create)



@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply pending schema migrations (needed before serving from a PostgreSQL database)."""
    try:
        for schema, db in component_databases(Settings()):
            before, after = upgrade(db, schema)
            change = f"{before} -> {after}" if before != after else f"{after}, up to date"
            out.print(f"{schema.component}: version {change} ({db.where})", highlight=False,
                      soft_wrap=True)
    except EXPECTED_ERRORS as exc:
        fail(exc)


@db_app.command("status")
def db_status() -> None:
    """Each store's schema version in the database against this copilot's. Exit 1 if behind."""
    table = Table("store", "database", "version", "this copilot")
    stale = False
    try:
        for schema, db in component_databases(Settings()):
            [(component, have, need)] = status(db, [schema])
            stale = stale or have != need
            table.add_row(component, db.where, str(have), str(need))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(table)
    if stale:
        raise typer.Exit(1)


@db_app.command("grant")
def db_grant(role: Annotated[str, typer.Argument(help="the PostgreSQL role the servers log in as")],
             create: Annotated[bool, typer.Option(help="create it as a login role")] = False
             ) -> None:
    """Give the servers' own role only what they need: no UPDATE or DELETE on the audit trail
    and the training records, so not even a disabled trigger lets that role change them.
    Run as the tables' owner, after `copilot db upgrade`; then point COPILOT_DATABASE_URL at
    the role."""
    settings = Settings()
    try:
        [(_, db)] = component_databases(settings)[:1]
        grant_app_role(db, role, create=create)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"role {role}: rights granted on {db.where}", highlight=False)


# -- moving an SQLite home into PostgreSQL ------------------------------------------------------

# Per store: its SQLite file in the home and its tables, in an order foreign keys accept.
HOME_TABLES = (
    ("audit", HOME_FILES["audit"], ("audit", "audit_head")),
    ("accounts", HOME_FILES["accounts"], ("users", "login_failures", "secrets")),
    ("training", HOME_FILES["training"], ("modules", "module_events", "items", "item_status",
                                          "attempts", "module_results", "cards")),
    ("catalog", HOME_FILES["catalog"], ("documents", "chunks", "state")),
)
# Columns a PostgreSQL table has where the SQLite one uses an implicit rowid.
_ROWID_COLUMNS = {("items", "ord")}
# Rows the schema's own migration writes (a fresh login-name key): the home's replace them,
# so that names hashed in its audit trail still match.
_REPLACED_TABLES = {"secrets"}


def migrate_from_home(home: Path, db: Database, key_file: Path | None = None,
                      progress: Callable[[str], None] = lambda _: None) -> dict[str, int]:
    """Copy an SQLite home's stores into an empty, migrated PostgreSQL database, then verify
    the copy: every table row for row, and the audit chain (same records, hashes and head,
    and it verifies). Returns rows copied per table. Refuses, before copying anything, a home
    whose trail does not verify, and a database that already holds data."""
    if db.dialect != POSTGRESQL:
        raise CopilotError("migrate-from-home needs COPILOT_DATABASE_URL set to the PostgreSQL "
                           "database to copy into")
    home = home.expanduser().resolve()
    sources = {component: home / relative for component, relative, _ in HOME_TABLES}
    if not any(p.exists() for p in sources.values()):
        raise CopilotError(f"{home} is not a copilot home: none of "
                           f"{', '.join(r for _, r, _ in HOME_TABLES)} is there")
    trail_file = sources["audit"]
    source_trail = None
    if trail_file.exists():
        source_trail = AuditTrail(trail_file, key_file=key_file)
        verdict = source_trail.verify()
        if not verdict.ok and verdict.records:
            raise CopilotError(f"the home's audit trail does not verify, so it is not copied: "
                               f"{verdict.reason}")
    for schema, _ in schemas():
        upgrade(db, schema)
    copied: dict[str, int] = {}
    with db.connect(300) as target:
        target.begin(lock="migrate-from-home", timeout=300)
        try:
            for component, _relative, tables in HOME_TABLES:
                if not sources[component].exists():
                    continue
                for table in tables:
                    if table in _REPLACED_TABLES:
                        continue
                    if target.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone():
                        raise CopilotError(f"the database already holds {component} data "
                                           f"(table {table}): migrate into an empty database")
            for component, _relative, tables in HOME_TABLES:
                if not sources[component].exists():
                    continue
                with SQLiteDatabase(sources[component]).connect() as source:
                    for table in tables:
                        if table in _REPLACED_TABLES:
                            target.execute(f"DELETE FROM {table}")
                        copied[table] = _copy_table(source, target, table)
                        progress(f"{component}.{table}: {copied[table]} rows")
            public_key = source_trail.public_key_path if source_trail is not None else None
            if public_key is not None and public_key.exists():
                target.execute("INSERT INTO audit_public_key (id, pem) VALUES (1, ?)",
                               (public_key.read_text("ascii"),))
            _reset_identities(target)
            target.commit()
        except BaseException:
            target.rollback()
            raise
    _verify_copy(home, sources, db, source_trail, key_file)
    return copied


def _columns(target: Connection, table: str) -> list[str]:
    return [r[0] for r in target.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = ? ORDER BY ordinal_position", (table,))]


def _select_source(table: str, columns: list[str]) -> str:
    picked = ", ".join(f"rowid AS {c}" if (table, c) in _ROWID_COLUMNS else f'"{c}"'
                       for c in columns)
    return f"SELECT {picked} FROM {table} ORDER BY rowid"


def _copy_table(source: Connection, target: Connection, table: str, batch: int = 5000) -> int:
    columns = _columns(target, table)
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    # Keep the ids the records were written with (attempt and result ids are cited).
    insert = (f"INSERT INTO {table} ({names}) OVERRIDING SYSTEM VALUE VALUES ({marks})")
    cursor = source.execute(_select_source(table, columns))
    count = 0
    while rows := cursor.fetchmany(batch):
        target.executemany(insert, [tuple(_plain(v) for v in row) for row in rows])
        count += len(rows)
    return count


def _reset_identities(target: Connection) -> None:
    """Identity columns continue after the copied ids."""
    for table, column in target.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE "
            "table_schema = current_schema() AND is_identity = 'YES'").fetchall():
        target.execute(f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                       f"coalesce((SELECT max({column}) FROM {table}), 0) + 1, false)")


def _plain(value):
    return bytes(value) if isinstance(value, memoryview) else value


def _verify_copy(home: Path, sources: dict[str, Path], db: Database, source_trail,
                 key_file: Path | None) -> None:
    with db.connect() as target:
        for component, _, tables in HOME_TABLES:
            if not sources[component].exists():
                continue
            with SQLiteDatabase(sources[component]).connect() as source:
                for table in tables:
                    columns = _columns(target, table)
                    names = ", ".join(f'"{c}"' for c in columns)
                    want = [tuple(map(_plain, r)) for r in source.execute(
                        _select_source(table, columns)).fetchall()]
                    got = [tuple(map(_plain, r)) for r in target.execute(
                        f"SELECT {names} FROM {table}").fetchall()]
                    if sorted(want, key=repr) != sorted(got, key=repr):
                        raise CopilotError(f"verification failed: table {table} differs after "
                                           f"the copy ({len(want)} rows in the home, {len(got)} "
                                           f"in the database)")
    if source_trail is None:
        return
    copy = AuditTrail(db, key_file=key_file)
    before, after = source_trail.verify(), copy.verify()
    if not after.ok and before.ok:
        raise CopilotError(f"verification failed: the copied audit trail does not verify: "
                           f"{after.reason}")
    if source_trail.head() != copy.head() or (before.head and after.head != before.head):
        raise CopilotError("verification failed: the copied audit trail's head differs")
    if [(r.seq, r.hash) for r in source_trail.records()] != \
            [(r.seq, r.hash) for r in copy.records()]:
        raise CopilotError("verification failed: the copied audit records differ")


@db_app.command("migrate-from-home")
def db_migrate_from_home(
    path: Annotated[Path, typer.Argument(help="the SQLite home (COPILOT_HOME) to copy")],
) -> None:
    """Copy an SQLite home (catalog, audit trail, accounts, training records) into
    COPILOT_DATABASE_URL's empty PostgreSQL database and verify the copy (same rows, same
    audit records, hashes and head). The home is only read. Vectors are not copied: point
    COPILOT_CHROMA_URL at the Chroma server and run `copilot ingest` on the documents."""
    settings = Settings()
    key_file = (settings.audit_key_file.expanduser().resolve() if settings.audit_key_file
                else None)
    try:
        db = build_database(settings, settings.home_dir / "unused.sqlite")
        started = time.monotonic()
        copied = migrate_from_home(path, db, key_file,
                                   progress=lambda line: err.print(line, highlight=False))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"[green]copied and verified[/]: {sum(copied.values())} rows from {path} into "
              f"{db.where} in {time.monotonic() - started:.1f} s", highlight=False)
