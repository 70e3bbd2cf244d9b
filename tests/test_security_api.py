"""Security review findings closed in the Python API (copilot/api.py) and retrieval:
F4 nothing is shown before its audit record is committed, F6 free text is scrubbed before it
is recorded, F7 inputs are bounded before any regex runs, F10 naming a revision never serves a
draft to a role that does not approve drafts, F12 a refused source view is audited.

Real parts (demo plant, real embedder, Chroma, Presidio); the chat model is scripted where a
test needs a sentence the verifier accepts (the bundled 135M model rarely writes one)."""

from __future__ import annotations

import json
import re
import time

import pytest
from conftest import SECURITY_DOCS
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from copilot import AccessDeniedError, BadQuestionError, Copilot, Settings
from copilot.build import build_copilot
from copilot.llm import LangChainBackend
from guardrails import AuditError, AuditTrail, User

OLGA = User("olga", "operator")


class CopyingModel(GenericFakeChatModel):
    """Writes the first sentence of source [1] verbatim, cited: a sentence the verifier
    accepts, streamed like a real model."""

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        prompt = str(messages[-1].content)
        body = prompt.split("[1] ", 1)[1].split("\n", 1)[1]
        first = re.split(r"(?<=[.!?])\s", " ".join(body.split("\n\n")[0].split()))[0]
        yield ChatGenerationChunk(message=AIMessageChunk(content=first.rstrip(".") + " [1]. "))
        # A sentence streams once the next one starts: the last one waits for the answer.
        yield ChatGenerationChunk(message=AIMessageChunk(content="That is all [1]."))

    def _generate(self, *args, **kwargs):  # pragma: no cover - the pipeline streams
        raise NotImplementedError


class FailingParts(AuditTrail):
    """A trail whose disk fills up at the first streamed part of an answer."""

    def append(self, user, role, action, details):
        if action == "answer_part":
            raise AuditError(self.path, "database or disk is full")
        return super().append(user, role, action, details)


def _copilot(home, trail, model=None) -> Copilot:
    settings = Settings(home=home, synthesis="on")
    backend = LangChainBackend(model=model or CopyingModel(messages=iter([AIMessage(content="")])),
                          name="scripted", context=4096)
    return build_copilot(settings, backend=backend, audit=trail)


QUESTION = "What must the operator do when AC-02 shows alarm E-22?"


def test_a_streamed_sentence_is_recorded_before_it_is_shown(demo_home, tmp_path):
    trail = AuditTrail(tmp_path / "audit.sqlite")
    copilot = _copilot(demo_home, trail)
    shown = 0
    for event in copilot.ask_stream(QUESTION, user=OLGA):
        if event.kind == "card":
            card = trail.records()[-1]  # the card's record, before the card is shown
            assert card.action == "ask" and card.details["answer"] == event.answer.text
        if event.kind == "sentence":
            shown += 1
            part = trail.records()[-1]  # committed at the moment the sentence is handed out
            assert part.action == "answer_part" and part.details["text"] == event.text
            assert part.details["part"] == shown and part.user == "olga"
            assert part.details["answer_id"] == card.details["answer_id"]
        if event.kind == "answer":
            final = trail.records()[-1]
            assert final.action == "answer_part" and final.details["final"] is True
            assert final.details["parts_shown"] == shown
            assert final.details["answer_id"] == card.details["answer_id"]
    assert shown >= 1, "the scripted model's copy should have been verified and streamed"
    assert trail.verify().ok


def test_when_the_trail_cannot_record_a_sentence_it_is_never_shown(demo_home, tmp_path):
    """The review's stream_audit.py: the sentence streamed to the user before the audit
    write failed."""
    copilot = _copilot(demo_home, FailingParts(tmp_path / "audit.sqlite"))
    shown = []
    with pytest.raises(AuditError, match="disk is full"):
        for event in copilot.ask_stream(QUESTION, user=OLGA):
            shown.append(event)
    assert [e.kind for e in shown] == ["card"]  # the card had its record; no sentence did


def test_deviation_search_and_feedback_record_scrubbed_text(demo_copilot, tmp_path):
    """F6: the review's dev_probe.py stored 'Operator John Smith (badge 44721, phone 07700
    900123)' verbatim in the append-only trail."""
    trail = AuditTrail(tmp_path / "audit.sqlite")
    copilot = build_copilot(demo_copilot.settings, kb=demo_copilot.kb, audit=trail)
    text = ("Operator John Smith (badge 44721, phone 07700 900123) reported that HPLC system "
            "suitability failed")
    copilot.similar_deviations(text, user=User("sam", "supervisor"))
    copilot.search(text, user=User("sam", "supervisor"))
    copilot.feedback(User("sam", "supervisor"), text, "quoted", False, comment=text)
    recorded = json.dumps([r.details for r in trail.records()])
    for secret in ("Smith", "44721", "07700 900123"):
        assert secret not in recorded
    assert "HPLC" in recorded and "<PERSON_1>" in recorded


@pytest.mark.parametrize("call", ["ask", "chat", "deviations", "search", "feedback"])
def test_a_megabyte_of_input_is_refused_at_once(demo_copilot, tmp_path, call):
    """F7: `"a-" * 20000` froze the follow-up rules for 9 s; a 40 KB description 10 s."""
    trail = AuditTrail(tmp_path / "audit.sqlite")
    copilot = build_copilot(demo_copilot.settings, kb=demo_copilot.kb, audit=trail)
    huge = "a-" * 500_000 + "a_"
    run = {"ask": lambda: copilot.ask(huge, user=OLGA),
           "chat": lambda: copilot.chat("s1", huge, user=OLGA),
           "deviations": lambda: copilot.similar_deviations(huge, user=User("q", "qa")),
           "search": lambda: copilot.search(huge, user=OLGA),
           "feedback": lambda: copilot.feedback(OLGA, "What is P1?", "quoted", True, huge)}[call]
    started = time.perf_counter()
    with pytest.raises(BadQuestionError, match=r"1000002 characters long; the limit is \d+"):
        run()
    assert time.perf_counter() - started < 1.0  # refused before any regex walked it
    assert trail.records() == []  # nothing of it was stored


@pytest.fixture(scope="module")
def security_copilot(demo_home, tmp_path_factory) -> Copilot:
    import shutil

    home = tmp_path_factory.mktemp("sec") / "home"
    shutil.copytree(demo_home, home)
    copilot = Copilot.from_settings(Settings(home=home))
    assert not copilot.ingest([SECURITY_DOCS]).failed
    return copilot


def test_naming_a_revision_never_serves_a_draft_to_an_operator(security_copilot):
    """F10: 'rev 2' turned the status filter off and quoted draft SOP-DRF-777 to olga."""
    question = "How do I rinse the GR-04 granulator bowl, rev 2?"
    for role in ("operator", "supervisor", "trainer"):
        hits = security_copilot.search(question, k=10, user=User("x", role))
        assert "SOP-DRF-777" not in {h.doc_id for h in hits}, role
    answer = security_copilot.ask(question, user=OLGA)
    assert "SOP-DRF-777" not in answer.text + str(answer.cited_doc_ids())
    assert "85 °C for 3 minutes" not in answer.text
    # Superseded revisions stay reachable by name, for every role.
    old = security_copilot.search("SOP-STE-001 rev 4 exposure time", k=5, user=OLGA)
    assert any(h.doc_id == "SOP-STE-001" and h.status == "superseded" for h in old)


def test_a_draft_named_by_revision_reaches_qa_labelled_as_a_draft(security_copilot):
    hits = security_copilot.search("How do I rinse the GR-04 granulator bowl, rev 2?", k=10,
                                   user=User("quinn", "qa"))
    assert "SOP-DRF-777" in {h.doc_id for h in hits}
    answer = security_copilot.ask("How do I rinse the GR-04 granulator bowl, rev 2?",
                                  user=User("quinn", "qa"))
    if "SOP-DRF-777" in answer.cited_doc_ids():
        assert answer.text.startswith("Not the effective revision")
        assert "SOP-DRF-777 rev 2 (DRAFT)" in answer.text


def test_a_refused_source_view_is_audited(security_copilot):
    """F12: the operator's denied attempt left no trace."""
    chunk = next(h.chunk_id for h in security_copilot.search(
        "vault code release", k=5, user=User("quinn", "qa")) if h.doc_id == "SOP-SEC-900")
    before = security_copilot.audit.head()[0]
    with pytest.raises(AccessDeniedError):
        security_copilot.source_view(chunk, user=OLGA)
    denied = security_copilot.audit.records()[before:]
    assert [r.action for r in denied] == ["access_denied"]
    assert denied[0].user == "olga" and denied[0].details["chunk_id"] == chunk


def test_a_home_and_its_files_are_for_the_service_account_only(tmp_path):
    """F13: with umask 022 the home's databases (restricted text, password hashes, the trail)
    were 0644. Every command runs with umask 077 and the home is 0700."""
    import os
    import stat
    import subprocess
    import sys
    from pathlib import Path

    home = tmp_path / "plant"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env.update(COPILOT_HOME=str(home), COPILOT_AUDIT_KEY_FILE=str(tmp_path / "key" / "audit.key"))
    copilot_bin = str(Path(sys.executable).with_name("copilot"))
    old = os.umask(0o022)  # what a shell or a service unit typically leaves
    try:
        added = subprocess.run([copilot_bin, "users", "add", "alice", "--role", "admin",
                                "--password-stdin"], input="Pw-alice-2026!\n", env=env,
                               capture_output=True, text=True, timeout=300)
    finally:
        os.umask(old)
    assert added.returncode == 0, added.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    for path in [p for p in home.rglob("*") if p.is_file()]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path
