"""The catalog: the record of ingested documents and their chunks, in an SQLite file in the
home or in the PostgreSQL database several servers share (`storage`).

It is the source of truth for what is indexed. Vector and BM25 indexes are derived from it:
a search joins their candidates back to the catalog, so vectors written by a crashed ingest
that never reached the catalog are invisible and get swept on the next ingest. Its
`generation` changes with every change, so each server process rebuilds its own BM25 index
when another process changed the shared catalog.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    StorageError,
    as_database,
    open_schema,
)

from .chunking import Chunk
from .documents import Document
from .errors import KnowledgeError

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    source TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    revision TEXT NOT NULL,
    title TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    status TEXT NOT NULL,
    effective_date TEXT NOT NULL,
    equipment TEXT NOT NULL,
    access TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    text TEXT NOT NULL,
    pages TEXT NOT NULL,
    extra TEXT NOT NULL,
    ingested_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_doc ON documents(doc_id, revision);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    source TEXT NOT NULL REFERENCES documents(source) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    section TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    page INTEGER,
    text TEXT NOT NULL,
    context TEXT NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS chunks_source ON chunks(source);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_PG_SCHEMA = """
CREATE TABLE documents (
    source TEXT PRIMARY KEY, doc_id TEXT NOT NULL, revision TEXT NOT NULL, title TEXT NOT NULL,
    doc_type TEXT NOT NULL, status TEXT NOT NULL, effective_date TEXT NOT NULL,
    equipment TEXT NOT NULL, access TEXT NOT NULL, content_hash TEXT NOT NULL,
    text TEXT NOT NULL, pages TEXT NOT NULL, extra TEXT NOT NULL,
    ingested_at DOUBLE PRECISION NOT NULL);
CREATE INDEX documents_doc ON documents(doc_id, revision);
CREATE TABLE chunks (
    chunk_id TEXT PRIMARY KEY,
    source TEXT NOT NULL REFERENCES documents(source) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL, section TEXT NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, page INTEGER, text TEXT NOT NULL, context TEXT NOT NULL,
    quarantined INTEGER NOT NULL DEFAULT 0);
CREATE INDEX chunks_source ON chunks(source);
CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def _create(conn: Connection) -> None:
    if conn.dialect == POSTGRESQL:
        conn.script(_PG_SCHEMA)
        return
    conn.script(_SQLITE_SCHEMA)
    # Catalogs written before a column existed get it, with its default.
    columns = {row[1] for row in conn.execute("PRAGMA table_info(chunks)")}
    if "quarantined" not in columns:
        conn.execute("ALTER TABLE chunks ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0")


SCHEMA = Schema("catalog", (
    Migration(1, "documents, chunks (with quarantine flags), generation", _create, _create),
), grants=(("documents", "SELECT, INSERT, UPDATE, DELETE"),
           ("chunks", "SELECT, INSERT, UPDATE, DELETE"), ("state", "SELECT, INSERT, UPDATE")))
_SET_GENERATION = ("INSERT INTO state (key, value) VALUES ('generation', ?) "
                   "ON CONFLICT (key) DO UPDATE SET value = excluded.value")


class CatalogError(KnowledgeError):
    """The catalog's database could not be opened, read or written."""

    def __init__(self, where: str, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(f"catalog {where}: {reason}")


def _row_to_document(row: Row) -> Document:
    return Document(
        doc_id=row["doc_id"], title=row["title"], doc_type=row["doc_type"],
        revision=row["revision"], status=row["status"], text=row["text"],
        source=row["source"], content_hash=row["content_hash"],
        effective_date=row["effective_date"], equipment=tuple(json.loads(row["equipment"])),
        access=tuple(json.loads(row["access"])),
        pages=tuple(tuple(p) for p in json.loads(row["pages"])),
        extra=json.loads(row["extra"]),
    )


class Catalog:
    """`location`: the SQLite file, or a `storage.Database` (PostgreSQL, migrated by
    `copilot db upgrade`)."""

    def __init__(self, location: Path | Database) -> None:
        self.db = as_database(location)
        self.path = (Location(self.db) if self.db.dialect == POSTGRESQL
                     else Path(cast(SQLiteDatabase, self.db).path))
        try:
            open_schema(self.db, SCHEMA)
        except StorageError as exc:
            raise CatalogError(exc.where, exc.reason) from exc

    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[Connection]:
        # A connection per operation: safe across threads (Gradio), processes and hosts.
        # A write is one transaction holding the catalog's write lock.
        try:
            with self.db.connect(30, named_rows=True) as conn:
                if not write:
                    yield conn
                    return
                conn.begin(lock="catalog", timeout=30)
                try:
                    yield conn
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
        except StorageError as exc:
            raise CatalogError(exc.where, exc.reason) from exc

    @contextmanager
    def ingest_lock(self) -> Iterator[None]:
        """Held by an ingest from its first vector write to its orphan sweep, so that one
        server's sweep never deletes the vectors another server's ingest has written but not
        yet catalogued. PostgreSQL: a session advisory lock (every host); an SQLite home has
        one host's processes, as before."""
        if self.db.dialect != POSTGRESQL:
            yield
            return
        try:
            conn = self.db.connect(30)
            conn.execute("SELECT pg_advisory_lock(hashtext(current_schema() || '/ingest'))")
        except StorageError as exc:
            raise CatalogError(exc.where, exc.reason) from exc
        try:
            yield
        finally:
            conn.close()  # closing the session releases the lock, even if unlocking failed

    def hash_of(self, source: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT content_hash FROM documents WHERE source=?",
                               (source,)).fetchone()
        return row["content_hash"] if row else None

    def source_of(self, doc_id: str, revision: str) -> str | None:
        with self._connect() as conn:
            row = conn.execute("SELECT source FROM documents WHERE doc_id=? AND revision=?",
                               (doc_id, revision)).fetchone()
        return row["source"] if row else None

    def chunk_ids_of(self, source: str) -> list[str]:
        with self._connect() as conn:
            rows = conn.execute("SELECT chunk_id FROM chunks WHERE source=?", (source,)).fetchall()
        return [r["chunk_id"] for r in rows]

    def replace(self, doc: Document, chunks: list[Chunk],
                quarantined: Iterable[str] = ()) -> None:
        """Swap a source's document row and chunks in one transaction. Chunks named in
        `quarantined` were flagged by the ingest screen (e.g. hidden instructions)."""
        flagged = set(quarantined)
        with self._connect(write=True) as conn:
            conn.execute("DELETE FROM chunks WHERE source=?", (doc.source,))
            conn.execute("DELETE FROM documents WHERE source=?", (doc.source,))
            conn.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (doc.source, doc.doc_id, doc.revision, doc.title, doc.doc_type, doc.status,
                 doc.effective_date, json.dumps(list(doc.equipment)), json.dumps(list(doc.access)),
                 doc.content_hash, doc.text, json.dumps([list(p) for p in doc.pages]),
                 json.dumps(doc.extra), time.time()),
            )
            conn.executemany(
                "INSERT INTO chunks (chunk_id, source, ordinal, section, start, \"end\", page, "
                "text, context, quarantined) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(c.chunk_id, doc.source, c.ordinal, c.section, c.start, c.end, c.page, c.text,
                  c.context, int(c.chunk_id in flagged)) for c in chunks],
            )
            conn.execute(_SET_GENERATION, (str(time.time_ns()),))

    def set_quarantined(self, flags: dict[str, bool]) -> None:
        """Set the quarantine flag of existing chunks (a re-screen with new rules)."""
        with self._connect(write=True) as conn:
            conn.executemany("UPDATE chunks SET quarantined=? WHERE chunk_id=?",
                             [(int(flag), cid) for cid, flag in flags.items()])
            # Other processes hold chunk rows with their BM25 index: make them reload.
            conn.execute(_SET_GENERATION, (str(time.time_ns()),))

    def remove(self, source: str) -> list[str]:
        with self._connect(write=True) as conn:
            ids = [r["chunk_id"] for r in
                   conn.execute("SELECT chunk_id FROM chunks WHERE source=?", (source,))]
            conn.execute("DELETE FROM chunks WHERE source=?", (source,))
            conn.execute("DELETE FROM documents WHERE source=?", (source,))
            conn.execute(_SET_GENERATION, (str(time.time_ns()),))
        return ids

    def generation(self) -> str:
        """Changes whenever the catalog changes; lets derived indexes know they are stale."""
        with self._connect() as conn:
            row = conn.execute("SELECT value FROM state WHERE key='generation'").fetchone()
        return row["value"] if row else "0"

    def sources(self) -> list[str]:
        with self._connect() as conn:
            return [r["source"] for r in conn.execute("SELECT source FROM documents")]

    def documents(self) -> list[tuple[Document, int]]:
        """Every document with its chunk count."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT d.*, (SELECT COUNT(*) FROM chunks c WHERE c.source=d.source) AS n "
                "FROM documents d ORDER BY d.doc_id, d.revision").fetchall()
        return [(_row_to_document(r), r["n"]) for r in rows]

    def document(self, doc_id: str, revision: str | None = None) -> Document | None:
        query = "SELECT * FROM documents WHERE doc_id=?"
        args: tuple[str, ...] = (doc_id,)
        if revision is not None:
            query += " AND revision=?"
            args += (revision,)
        else:
            # Effective revision first, then the newest ingested.
            query += " ORDER BY status='effective' DESC, ingested_at DESC"
        with self._connect() as conn:
            row = conn.execute(query, args).fetchone()
        return _row_to_document(row) if row else None

    def all_chunks(self) -> list[Row]:
        """Chunk rows joined with their document's metadata, in a stable order."""
        with self._connect() as conn:
            return conn.execute(
                "SELECT c.chunk_id, c.section, c.start, c.\"end\", c.page, c.text, c.context, "
                "c.quarantined, "
                "d.source, d.doc_id, d.revision, d.title, d.doc_type, d.status, d.equipment, "
                "d.access, d.effective_date FROM chunks c JOIN documents d ON c.source=d.source "
                "ORDER BY c.chunk_id").fetchall()

    def chunks_by_id(self, ids: Iterable[str]) -> dict[str, Row]:
        ids = list(ids)
        if not ids:
            return {}
        out: dict[str, Row] = {}
        with self._connect() as conn:
            for i in range(0, len(ids), 500):
                part = ids[i:i + 500]
                marks = ",".join("?" * len(part))
                for row in conn.execute(
                    "SELECT c.chunk_id, c.section, c.start, c.\"end\", c.page, c.text, c.context, "
                    "c.quarantined, "
                    "d.source, d.doc_id, d.revision, d.title, d.doc_type, d.status, d.equipment, "
                    "d.access, d.effective_date FROM chunks c JOIN documents d "
                    f"ON c.source=d.source WHERE c.chunk_id IN ({marks})", part):
                    out[row["chunk_id"]] = row
        return out
