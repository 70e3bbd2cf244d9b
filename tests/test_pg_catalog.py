"""The catalog on both stores, and servers sharing one catalog: a document ingested through one
knowledge base is found by another (its own BM25, rebuilt when the catalog's generation
changes), without a restart."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import storage_pg

from knowledge import KnowledgeBase
from knowledge.catalog import SCHEMA, Catalog, CatalogError
from storage import PostgresDatabase, upgrade


@pytest.fixture()
def pg_url():
    yield from storage_pg.fresh_database_url()


DOC = """---
doc_id: SOP-PGX-{n:03d}
title: "Granulator GX-{n} cleaning"
type: sop
revision: "{rev}"
effective_date: 2026-01-01
status: effective
equipment: [GX-{n}]
access: [operator, supervisor, qa, trainer, admin]
---

# SOP-PGX-{n:03d} Granulator GX-{n} cleaning

## 1 Procedure

Rinse the bowl of granulator GX-{n} with {litres} litres of purified water, then dry it with
filtered air for 15 minutes. Record alarm Z-{n}{n} in the logbook if the rinse stops.
"""


def write_doc(folder: Path, n: int, rev: str = "1", litres: int = 20) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"sop-pgx-{n}.md"
    path.write_text(DOC.format(n=n, rev=rev, litres=litres), encoding="utf-8")
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_location(request, tmp_path):
    if request.param == "sqlite":
        return tmp_path / "catalog.sqlite"
    db = PostgresDatabase(request.getfixturevalue("pg_url"))
    upgrade(db, SCHEMA)
    return db


def kb_on(location, home: Path, embedder) -> KnowledgeBase:
    db = location if isinstance(location, PostgresDatabase) else None
    return KnowledgeBase(home, embedder, catalog_db=db)


def test_ingest_search_and_remove_on_either_catalog(catalog_location, tmp_path, embedder):
    kb = kb_on(catalog_location, tmp_path / "home", embedder)
    docs = tmp_path / "docs"
    report = kb.ingest([write_doc(docs, 1), write_doc(docs, 2)])
    assert report.count("added") == 2, report.files
    generation = kb.catalog.generation()
    hits = kb.search("alarm Z-22 granulator", k=3)
    assert hits and hits[0].doc_id == "SOP-PGX-002"
    assert [d.doc_id for d, n in kb.catalog.documents()] == ["SOP-PGX-001", "SOP-PGX-002"]
    write_doc(docs, 2, rev="2", litres=35)
    assert kb.ingest([docs]).count("updated") == 1
    assert kb.catalog.generation() != generation
    assert "35 litres" in kb.search("GX-2 rinse litres", k=1)[0].text
    (docs / "sop-pgx-2.md").unlink()
    assert kb.ingest([docs], sync=True).count("removed") == 1
    assert [d.doc_id for d, _ in kb.catalog.documents()] == ["SOP-PGX-001"]


def test_quarantine_flags_round_trip(catalog_location, tmp_path, embedder):
    kb = kb_on(catalog_location, tmp_path / "home", embedder)
    kb.ingest([write_doc(tmp_path / "docs", 3)])
    ids = [r["chunk_id"] for r in kb.catalog.all_chunks()]
    before = kb.catalog.generation()
    kb.catalog.set_quarantined({ids[0]: True})
    assert kb.catalog.chunks_by_id(ids)[ids[0]]["quarantined"] == 1
    assert kb.catalog.generation() != before


def test_a_document_ingested_on_one_server_is_found_on_another(pg_url, tmp_path, embedder):
    db = PostgresDatabase(pg_url)
    upgrade(db, SCHEMA)
    first = kb_on(db, tmp_path / "host-a", embedder)
    second = kb_on(db, tmp_path / "host-b", embedder)
    second.ingest([write_doc(tmp_path / "docs-b", 4)])  # second has built its BM25 already
    assert second.search("alarm Z-44", k=1, mode="bm25")[0].doc_id == "SOP-PGX-004"
    first.ingest([write_doc(tmp_path / "docs-a", 5)])
    hits = second.search("alarm Z-55 granulator GX-5", k=2, mode="bm25")
    assert hits and hits[0].doc_id == "SOP-PGX-005"  # no restart: its generation changed
    # One catalog: a sync on one server removes only what was under its own paths and is
    # gone, for all servers; the other server's documents stay.
    assert first.ingest([write_doc(tmp_path / "docs-a", 6)]).count("added") == 1
    (tmp_path / "docs-a" / "sop-pgx-6.md").unlink()
    assert first.ingest([tmp_path / "docs-a"], sync=True).count("removed") == 1
    assert [d.doc_id for d, _ in second.catalog.documents()] == ["SOP-PGX-004", "SOP-PGX-005"]
    assert second.search("alarm Z-44", k=1, mode="bm25")[0].doc_id == "SOP-PGX-004"


def test_ingests_on_two_servers_take_turns(pg_url, tmp_path, embedder):
    """The ingest lock: one server's orphan sweep cannot run inside another's ingest."""
    db = PostgresDatabase(pg_url)
    upgrade(db, SCHEMA)
    catalog = Catalog(db)
    inside = threading.Event()
    order: list[str] = []

    def hold() -> None:
        with catalog.ingest_lock():
            order.append("first in")
            inside.set()
            threading.Event().wait(0.5)
            order.append("first out")

    thread = threading.Thread(target=hold)
    thread.start()
    inside.wait(10)
    with Catalog(db).ingest_lock():
        order.append("second in")
    thread.join()
    assert order == ["first in", "first out", "second in"]


def test_an_unmigrated_catalog_is_refused(pg_url):
    with pytest.raises(CatalogError, match="copilot db upgrade"):
        Catalog(PostgresDatabase(pg_url))
