"""One question through `Copilot` with every seam faked by the package's own fakes
(HashEmbedder, MemoryStore, ScriptedBackend, RegexScrubber) and a real audit trail: the order
of the stages is what is under test, in the fast tier. The real parts are tested elsewhere
(test_end_to_end.py, test_evidence_answers.py)."""

from __future__ import annotations

import pytest

from copilot import Settings, demo_plant_path
from copilot.build import build_copilot
from copilot.llm import ScriptedBackend
from guardrails import AuditTrail, RegexScrubber, User
from knowledge import HashEmbedder, KnowledgeBase, MemoryStore


@pytest.fixture()
def parts(tmp_path):
    # Hashed words are no sentence embedding: the retrieval-support floor is lowered so that
    # the fake reaches the card (the threshold itself is tested with the real embedder).
    settings = Settings(home=tmp_path / "home", check_injection=False, check_policy=False,
                        synthesis="on", min_retrieval_support=0.05,
                        audit_key_file=tmp_path / "keys" / "audit.key")
    kb = KnowledgeBase(settings.home_dir, HashEmbedder(), vectors=MemoryStore())
    kb.ingest([demo_plant_path() / "manuals" / "MAN-AC-02.md"])
    backend = ScriptedBackend(["Do not open the door on the clean side [1]."])
    trail = AuditTrail(tmp_path / "trail" / "audit.sqlite",
                       key_file=tmp_path / "keys" / "audit.key")
    copilot = build_copilot(settings, kb=kb, backend=backend, audit=trail,
                            scrubber=RegexScrubber())
    return copilot, backend, trail


@pytest.mark.light
def test_regex_scrubber_finds_the_usual_shapes():
    text = ("Operator Maria Kowalski (badge 44721, maria.k@halden.example, +44 1632 960214) "
            "saw E-22 on AC-02.")
    found = {text[s.start:s.end]: s.type for s in RegexScrubber().analyze(text)}
    assert found == {"Maria Kowalski": "PERSON", "44721": "EMPLOYEE_ID",
                     "maria.k@halden.example": "EMAIL_ADDRESS",
                     "+44 1632 960214": "PHONE_NUMBER"}


@pytest.mark.light
def test_a_question_is_scrubbed_answered_from_the_documents_and_recorded(parts):
    copilot, backend, trail = parts
    question = "Operator Maria Kowalski saw alarm E-22 on AC-02, what now?"
    events = list(copilot.ask_stream(question, user=User("olga", "operator")))
    kinds = [e.kind for e in events]
    assert kinds[0] == "card" and kinds[-1] == "answer"
    answer = events[-1].answer
    assert answer.citations and answer.citations[0].doc_id == "MAN-AC-02"
    # the model saw the scrubbed question only, and the trail holds no name either
    assert backend.prompts and "Kowalski" not in backend.prompts[0][1]
    assert "<PERSON_1>" in backend.prompts[0][1]
    asks = trail.records(action="ask")
    assert len(asks) == 1 and "Kowalski" not in str(asks[0].details)
    assert trail.verify().ok
