"""Knowledge base over the demo plant: real embedder, real Chroma, real BM25."""

from knowledge import SearchFilter


def test_alarm_code_retrieves_exactly(demo_copilot):
    hits = demo_copilot.kb.search("alarm E-22", k=3, filters=SearchFilter(role="operator"))
    assert all("E-22" in h.text for h in hits)
    assert hits[0].doc_id in {"SOP-STE-001", "MAN-AC-02"}


def test_effective_revision_only_by_default(demo_copilot):
    hits = demo_copilot.kb.search("P1 porous load exposure time", k=10,
                                  filters=SearchFilter(doc_id="SOP-STE-001"))
    assert hits and {h.revision for h in hits} == {"5"}
    assert all(h.status == "effective" for h in hits)


def test_named_revision_reaches_superseded(demo_copilot):
    hits = demo_copilot.kb.search("SOP-STE-001 rev 4 porous load exposure time", k=5)
    assert hits and {h.revision for h in hits} == {"4"}


def test_role_filter_hides_restricted_deviations(demo_copilot):
    restricted = {d.doc_id for d, _ in demo_copilot.kb.documents() if "operator" not in d.access}
    assert restricted  # the demo plant has deviation reports an operator may not see
    for mode in ("hybrid", "dense", "bm25"):
        for query in ("back-dated logbook entry HPLC", "gowning skin lesion S1-102", "deviation"):
            hits = demo_copilot.kb.search(query, k=20, mode=mode,
                                          filters=SearchFilter(role="operator"))
            assert not {h.doc_id for h in hits} & restricted
    qa_hits = demo_copilot.kb.search("back-dated logbook entry HPLC", k=5,
                                     filters=SearchFilter(role="qa"))
    assert {h.doc_id for h in qa_hits} & restricted


def test_hits_carry_citation_fields(demo_copilot):
    hit = demo_copilot.kb.search("WFI conductivity limit", k=1)[0]
    doc = demo_copilot.kb.document(hit.doc_id, hit.revision)
    assert doc.text[hit.start:hit.end] == hit.text
    assert hit.title and hit.section and hit.revision


def test_reingest_skips_unchanged_and_swaps_changed(fresh_copilot, demo_copy):
    sops = demo_copy / "sops"
    first = fresh_copilot.ingest([sops])
    assert first.count("added") == len(list(sops.glob("*.md"))) and not first.failed
    again = fresh_copilot.ingest([sops])
    assert again.count("unchanged") == first.count("added")
    target = sops / "SOP-QC-006.md"
    target.write_text(target.read_text() + "\n\n## 10 Addendum\nZebra-check the balance BAL-12 "
                      "with the 7.777 g quasar weight.\n")
    third = fresh_copilot.ingest([sops])
    assert third.count("updated") == 1
    hits = fresh_copilot.kb.search("quasar weight zebra-check", k=1)
    assert hits[0].doc_id == "SOP-QC-006" and "quasar" in hits[0].text
    ids = fresh_copilot.kb.catalog.chunk_ids_of(str(target.resolve()))
    assert set(ids) <= set(fresh_copilot.kb.vectors.ids())
    assert fresh_copilot.kb.vectors.count() == len(fresh_copilot.kb.catalog.all_chunks())


def test_sync_removes_documents_whose_files_are_gone(fresh_copilot, demo_copy):
    sops = demo_copy / "sops"
    fresh_copilot.ingest([sops])
    (sops / "SOP-QC-012.md").unlink()
    report = fresh_copilot.ingest([sops], sync=True)
    assert report.count("removed") == 1
    assert all(d.doc_id != "SOP-QC-012" for d, _ in fresh_copilot.kb.documents())
    assert fresh_copilot.kb.vectors.count() == len(fresh_copilot.kb.catalog.all_chunks())


def test_sync_of_one_folder_keeps_documents_from_elsewhere(fresh_copilot, demo_copy):
    """`--sync docs/` mirrors docs/: an upload or another folder's documents are no file of
    it that is gone, so they stay (they used to be removed)."""
    sops, manuals = demo_copy / "sops", demo_copy / "manuals"
    fresh_copilot.ingest([sops, manuals])
    manual_ids = {d.doc_id for d, _ in fresh_copilot.kb.documents()
                  if d.source.startswith(str(manuals.resolve()))}
    assert manual_ids
    (sops / "SOP-QC-012.md").unlink()
    report = fresh_copilot.ingest([sops], sync=True)
    assert [r.path.rsplit("/", 1)[-1] for r in report.files if r.status == "removed"] == [
        "SOP-QC-012.md"]
    kept = {d.doc_id for d, _ in fresh_copilot.kb.documents()}
    assert manual_ids <= kept and "SOP-QC-012" not in kept


def test_bad_files_fail_alone_and_keep_the_index(fresh_copilot, demo_copy):
    manuals = demo_copy / "manuals"
    fresh_copilot.ingest([manuals])
    before = fresh_copilot.kb.vectors.count()
    (manuals / "empty.md").write_bytes(b"")
    (manuals / "broken.pdf").write_bytes(b"%PDF-1.7 garbage")
    (manuals / "MAN-AC-02.md").write_bytes(b"\xff\xfe\x00bad")  # a good file turned bad
    report = fresh_copilot.ingest([manuals])
    failed = {r.path.rsplit("/", 1)[-1]: r.reason for r in report.failed}
    assert set(failed) == {"empty.md", "broken.pdf", "MAN-AC-02.md"}
    assert all(failed.values())
    assert report.count("unchanged") == 3
    assert fresh_copilot.kb.vectors.count() == before  # the old MAN-AC-02 is still indexed
    assert fresh_copilot.kb.search("E-22", k=1)[0].doc_id in {"MAN-AC-02"}


def test_crash_between_vectors_and_catalog_keeps_the_old_revision(fresh_copilot, demo_copy):
    import pytest

    sops = demo_copy / "sops"
    kb = fresh_copilot.kb
    fresh_copilot.ingest([sops])
    target = sops / "SOP-QC-006.md"
    target.write_text(target.read_text().replace("## 1 Purpose", "## 1 Purpose\nQuokka clause."))
    real_replace = kb.catalog.replace

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("power cut")  # after the new vectors, before the switch-over

    kb.catalog.replace = crash
    with pytest.raises(KeyboardInterrupt):
        fresh_copilot.ingest([target])
    kb.catalog.replace = real_replace
    # The old revision is still what searches see; the half-written vectors are invisible.
    hits = kb.search("Quokka clause", k=3, filters=None)
    assert all("Quokka" not in h.text for h in hits)
    assert kb.search("check weight tolerance balance", k=1)[0].doc_id == "SOP-QC-006"
    assert kb.vectors.count() > len(kb.catalog.all_chunks())  # orphans exist until the next run
    fresh_copilot.ingest([sops])
    assert kb.vectors.count() == len(kb.catalog.all_chunks())
    assert any("Quokka" in h.text for h in kb.search("Quokka clause", k=3))
