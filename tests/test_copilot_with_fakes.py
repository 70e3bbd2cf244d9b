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


@pytest.mark.light
def test_the_composition_root_builds_slow_parts_on_first_use_only_and_once(tmp_path,
                                                                            monkeypatch):
    import copilot.build as build

    loads: list[str] = []

    def chat_backend(settings):
        loads.append("chat")
        return ScriptedBackend(["Close the door [1]."], name="scripted")

    monkeypatch.setattr(build, "build_chat_backend", chat_backend)
    settings = Settings(home=tmp_path / "home", check_injection=False, check_policy=False,
                        scrub_pii=False, audit_key_file=tmp_path / "keys" / "audit.key")
    kb = KnowledgeBase(settings.home_dir, HashEmbedder(), vectors=MemoryStore())
    kb.ingest([demo_plant_path() / "manuals" / "MAN-AC-02.md"])
    trail = AuditTrail(tmp_path / "trail" / "audit.sqlite",
                       key_file=tmp_path / "keys" / "audit.key")
    copilot = build.build_copilot(settings, kb=kb, audit=trail)
    assert copilot.search("alarm E-22", user=User("olga", "operator"))
    assert loads == [] and copilot.backend_name().endswith("(loads on first use)")
    assert copilot.pipeline is copilot.pipeline and copilot.gate is copilot.gate
    assert loads == ["chat"] and copilot.backend_name() == "scripted"
    assert copilot.scrubber is None  # COPILOT_SCRUB_PII off
    assert copilot.accounts.audit is trail and copilot.training.audit is trail
    assert copilot.pipeline.verifier is copilot.verifier


@pytest.mark.light
def test_a_lazy_part_is_built_once_across_threads():
    import threading
    import time

    from copilot.lazy import Lazy, part

    calls: list[int] = []

    def slow() -> object:
        calls.append(1)
        time.sleep(0.05)
        return object()

    lazy = Lazy(slow)
    got: list[object] = []
    threads = [threading.Thread(target=lambda: got.append(lazy.get())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len({id(g) for g in got}) == 1 and lazy.loaded
    built = object()
    assert part(built).get() is built and part(lazy) is lazy and Lazy.of(None).loaded


@pytest.mark.light
def test_the_support_thresholds_come_from_settings(tmp_path, monkeypatch):
    from copilot.build import build_pipeline

    monkeypatch.setenv("COPILOT_LINE_SUPPORT", "0.7")
    monkeypatch.setenv("COPILOT_COVERED_SUPPORT", "0.3")
    settings = Settings(home=tmp_path)
    kb = KnowledgeBase(settings.home_dir, HashEmbedder(), vectors=MemoryStore())
    policy = build_pipeline(settings, kb, ScriptedBackend(["NOT FOUND"])).policy
    assert (policy.line_support, policy.covered_support) == (0.7, 0.3)
    assert policy.line_word_coverage == settings.line_word_coverage
