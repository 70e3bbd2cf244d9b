"""The knowledge base's orchestration with the package's fakes (HashEmbedder, MemoryStore):
ingest, switch-over, role filters, revisions and hybrid search, with no model and no Chroma.
The real parts are tested in test_knowledge_base.py; these run in the fast tier."""

from __future__ import annotations

import numpy as np
import pytest

from copilot import demo_plant_path
from knowledge import HashEmbedder, KnowledgeBase, MemoryStore, SearchFilter


@pytest.fixture()
def kb(tmp_path) -> KnowledgeBase:
    plant = demo_plant_path()
    kb = KnowledgeBase(tmp_path / "home", HashEmbedder(), vectors=MemoryStore())
    report = kb.ingest([plant / "manuals" / "MAN-AC-02.md", plant / "sops",
                        plant / "deviations" / "DEV-2025-031.md"])
    assert not report.failed, report.failed
    return kb


@pytest.mark.light
def test_hash_embedder_gives_unit_vectors_close_for_shared_words():
    vectors = HashEmbedder().embed(["autoclave alarm E-22", "E-22 alarm on the autoclave",
                                    "tablet press tooling", ""])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert vectors[0] @ vectors[1] > 0.7 > 0.2 > vectors[0] @ vectors[2]


@pytest.mark.light
def test_ingest_and_hybrid_search_find_the_alarm_row(kb):
    hits = kb.search("AC-02 alarm E-22", k=3)
    assert hits and hits[0].doc_id == "MAN-AC-02"
    assert "E-22" in hits[0].text
    assert kb.vectors.count() == len(kb.vectors.ids()) > 0
    assert kb.vectors.embedder_identity() == "hash-1024"


@pytest.mark.light
def test_unchanged_files_are_skipped_and_a_superseded_revision_is_filtered(kb):
    plant = demo_plant_path()
    again = kb.ingest([plant / "sops"])
    assert again.count("unchanged") == len(again.files) > 0 and not again.failed
    effective = kb.search("P1 exposure time", k=5,
                          filters=SearchFilter(doc_id="SOP-STE-001"))
    assert effective and {h.status for h in effective} == {"effective"}


@pytest.mark.light
def test_role_filters_apply_to_the_memory_store_too(kb):
    # DEV-2025-031 is for supervisor, QA and admin: an operator never gets it, QA does.
    query = "DEV-2025-031 autoclave condensate root cause"
    operator = kb.search(query, k=10, filters=SearchFilter(role="operator"))
    qa = kb.search(query, k=10, filters=SearchFilter(role="qa"))
    assert "DEV-2025-031" not in {h.doc_id for h in operator}
    assert "DEV-2025-031" in {h.doc_id for h in qa}
