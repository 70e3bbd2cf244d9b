"""Quiz generation and validation on the real demo plant (and unseen corpus documents)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from copilot.training import (
    NotTrainableError,
    QuizItem,
    TrainingService,
    UnknownDocumentError,
    UnknownSectionError,
    validate,
)
from copilot.training.generator import DeterministicGenerator
from copilot.training.text import mentions
from guardrails import demo_user
from knowledge import Document, load_document

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
ITEM_FIELDS = {"type", "stem", "options", "key", "doc_id", "revision", "section", "quote",
               "status"}


@pytest.fixture()
def service(demo_copilot, tmp_path) -> TrainingService:
    return TrainingService(demo_copilot.kb, demo_copilot.audit, tmp_path / "training.sqlite")


def _sop_ids(kb) -> list[str]:
    return sorted({d.doc_id for d, _ in kb.documents() if d.doc_type == "sop"})


def test_modules_build_for_every_demo_sop_and_95_percent_pass_validation(service, demo_copilot):
    sops = _sop_ids(demo_copilot.kb)
    assert len(sops) == 13
    generated = accepted = 0
    for doc_id in sops:
        result = service.build_module(doc_id)
        doc = demo_copilot.kb.document(doc_id)
        assert result.revision == doc.revision and doc.status == "effective"
        assert len(result.items) >= 5, doc_id
        # Every kind of question appears somewhere in a module of a procedure.
        assert {"multiple_choice", "true_false", "ordering"} <= {i.type for i in result.items}
        generated += len(result.items) + len(result.rejected)
        accepted += len(result.items)
        for item in result.items:
            assert item.status == "draft"
            assert item.quote in doc.text  # verbatim, from the effective revision
            assert item.doc_id == doc_id and item.revision == doc.revision
    rate = accepted / generated
    print(f"\ndemo SOPs: {accepted}/{generated} generated items pass validation ({rate:.1%})")
    assert rate >= 0.95


@pytest.mark.light
def test_items_from_unseen_corpus_documents_pass_validation():
    files = sorted(SHARED_CORPUS.glob("sop_*.md")) + sorted(SHARED_CORPUS.glob("manual_*.md"))
    if not files:
        pytest.skip(f"no shared corpus at {SHARED_CORPUS}")
    generated = accepted = 0
    for path in files:
        doc = load_document(path)
        items = DeterministicGenerator().generate(doc)
        good, rejected = validate(items, doc)
        generated += len(items)
        accepted += len(good)
        for item in good:
            assert item.quote in doc.text
            if item.type in ("multiple_choice", "scenario", "numeric"):
                assert mentions(item.quote, item.key)
    rate = accepted / generated
    print(f"\nshared corpus ({len(files)} SOPs/manuals): {accepted}/{generated} pass ({rate:.1%})")
    assert generated >= 50 and rate >= 0.95


def test_json_shape_and_citations(service, demo_copilot):
    result = service.build_module("SOP-STE-001")
    data = result.to_json_dict()
    assert set(data) >= {"items", "rejected"}
    for item in data["items"]:
        assert ITEM_FIELDS <= set(item)
        assert item["revision"] == "5"
    p1 = [i for i in result.items if i.section.endswith("6.4 Running the porous-load cycle P1")
          and "Exposure time" in i.quote]
    assert p1 and all("20 min" in i.quote for i in p1)
    kinds = Counter(i.type for i in result.items)
    assert kinds["scenario"] >= 1 and kinds["numeric"] >= 1


def test_alarm_table_gives_scenarios_with_other_alarms_as_distractors(service):
    result = service.build_module("MAN-AC-02")
    scenarios = [i for i in result.items if i.type == "scenario" and "E-22" in i.stem]
    assert scenarios
    item = scenarios[0]
    assert item.key.lower().startswith("do not open the door to the clean side")
    assert item.quote.startswith("| E-22 |")
    # Distractors are other alarms' responses, absent from the E-22 row.
    for option in item.options:
        if option != item.key:
            assert not mentions(item.quote, option)


def test_section_module_only_holds_that_section(service):
    result = service.build_module("SOP-STE-001", section="6.3")
    assert result.module_id == "SOP-STE-001:6.3"
    assert result.items and {i.section for i in result.items} == {"6 Procedure > 6.3 Loading"}
    with pytest.raises(UnknownSectionError, match="SOP-STE-001 has no section matching '9.9'"):
        service.build_module("SOP-STE-001", section="9.9")


def test_rebuild_does_not_duplicate_items(service):
    first = service.build_module("SOP-QA-010")
    second = service.build_module("SOP-QA-010")
    assert [i.item_id for i in first.items] == [i.item_id for i in second.items]
    assert len(service.items("SOP-QA-010", demo_user("trainer"))) == len(first.items)


def test_generation_is_deterministic(demo_copilot):
    doc = demo_copilot.kb.document("SOP-QC-006")
    a = DeterministicGenerator().generate(doc)
    b = DeterministicGenerator().generate(doc)
    assert [i.model_dump() for i in a] == [i.model_dump() for i in b]


# -- bad input -------------------------------------------------------------------------------

def test_unknown_document_is_named(service):
    with pytest.raises(UnknownDocumentError, match="unknown document 'SOP-NOPE-999'"):
        service.build_module("SOP-NOPE-999")


def test_deviation_report_is_refused_with_reason(service):
    # As QA, who may see the report: a trainer is refused earlier, for access.
    with pytest.raises(NotTrainableError) as caught:
        service.build_module("DEV-2025-014", user=demo_user("qa"))
    assert "DEV-2025-014" in str(caught.value) and "deviation report" in str(caught.value)


def test_document_without_steps_or_numbers_is_refused(fresh_copilot, tmp_path):
    prose = tmp_path / "SOP-GEN-001.md"
    prose.write_text("---\ndoc_id: SOP-GEN-001\ntitle: Site Values\ntype: sop\n---\n\n"
                     "# Site Values\n\n## 1 Purpose\nWe care about quality and about each "
                     "other. Everyone is responsible for speaking up when something looks "
                     "wrong.\n", encoding="utf-8")
    assert not fresh_copilot.ingest([prose]).failed
    service = TrainingService(fresh_copilot.kb, fresh_copilot.audit, tmp_path / "t.sqlite")
    with pytest.raises(NotTrainableError) as caught:
        service.build_module("SOP-GEN-001")
    message = str(caught.value)
    assert "SOP-GEN-001" in message and "no numbered steps" in message
    with pytest.raises(UnknownDocumentError, match="SOP-GEN-001"):
        service.build_module("SOP-GEN-002")


# -- validation rejects what the document does not support -----------------------------------

@pytest.fixture()
def ste(demo_copilot) -> Document:
    return demo_copilot.kb.document("SOP-STE-001")


def _first(items: list[QuizItem], kind: str, text: str) -> QuizItem:
    return next(i for i in items if i.type == kind and text in i.quote)


def test_validator_rejects_unsupported_items(ste):
    items, _ = validate(DeterministicGenerator().generate(ste), ste)
    choice = _first(items, "multiple_choice", "stabilises for 5 min")
    assert validate([choice], ste)[0] == [choice]

    in_quote = choice.model_copy(update={"options": [choice.key, "10 min", "90 kg", "2 h"]})
    wrong_quote = choice.model_copy(update={"quote": choice.quote.replace("5 min", "7 min")})
    key_missing = choice.model_copy(update={"key": "7 min",
                                            "options": ["7 min", "20 min", "15 min", "3.5 min"]})
    true_tf = next(i for i in items if i.type == "true_false" and i.key == "True")
    lying_tf = true_tf.model_copy(update={"key": "False"})
    good, rejected = validate([in_quote, wrong_quote, key_missing, lying_tf], ste)
    assert good == []
    reasons = [r.reason for r in rejected]
    assert "is in the quote" in reasons[0]
    assert "not verbatim" in reasons[1]
    assert "does not follow from the quote" in reasons[3]
    assert "does not contain the key" in reasons[2]


@pytest.mark.light
def test_validator_rejects_a_distractor_the_document_also_states():
    text = ("# Hold Times\n\n## 6 Procedure\n1. Hold small loads at the sterilisation "
            "temperature for 15 min.\n2. Hold large loads at the sterilisation temperature for "
            "30 min.\n")
    doc = Document(doc_id="SOP-HLD-001", title="Hold Times", doc_type="sop", revision="1",
                   status="effective", text=text, source="inline", content_hash="x")
    quote = "Hold small loads at the sterilisation temperature for 15 min."
    item = QuizItem(type="multiple_choice", stem="Small loads: hold at the sterilisation "
                    "temperature for ____?", options=["15 min", "30 min", "5 min", "45 min"],
                    key="15 min", doc_id="SOP-HLD-001", revision="1", section="6 Procedure",
                    quote=quote, quote_start=text.index(quote),
                    cue=["at the sterilisation temperature for"])
    good, rejected = validate([item], doc)
    assert not good and "'30 min' is also stated" in rejected[0].reason
    fixed = item.model_copy(update={"options": ["15 min", "20 min", "5 min", "45 min"],
                                    "item_id": ""})
    assert validate([fixed], doc)[0]


def test_validator_rejects_duplicates(ste):
    items, _ = validate(DeterministicGenerator().generate(ste), ste)
    good, rejected = validate([items[0], items[0].model_copy()], ste)
    assert len(good) == 1 and rejected[0].reason.startswith("duplicate of item")


def test_build_is_audited(service, demo_copilot):
    before = demo_copilot.audit.head()[0]
    service.build_module("SOP-PRD-004", user=demo_user("trainer"))
    records = demo_copilot.audit.records(action="config_change")
    assert demo_copilot.audit.head()[0] > before
    assert records[-1].details["kind"] == "quiz_build"
    assert records[-1].details["module_id"] == "SOP-PRD-004"
