"""Evidence-first answers (#14): the card is composed from the documents with no model, says
what the documents do not state, comes before any model summary, and is recorded before it is
shown. Real retrieval over the demo plant (real embedder, Chroma, BM25); the chat model is
scripted only where a test needs a summary sentence the verifier accepts."""

from __future__ import annotations

import re

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from copilot import Copilot, Settings
from copilot.answerability import asked_for, holds
from copilot.build import synthesis_enabled
from copilot.evidence import split_units, table_header_before
from copilot.llm import LangChainBackend
from copilot.pipeline import EVIDENCE_INTRO, SUMMARY_INTRO
from guardrails import AuditTrail, User
from knowledge import Hit

OLGA = User("olga", "operator")


class Untouchable(GenericFakeChatModel):
    """A model that must not be asked: the card never waits for one."""

    def _stream(self, *args, **kwargs):
        raise AssertionError("the evidence card called the model")

    def _generate(self, *args, **kwargs):
        raise AssertionError("the evidence card called the model")


class CopyingModel(GenericFakeChatModel):
    """Writes the first sentence of source [1] verbatim and cited, then one more."""

    def _stream(self, messages, stop=None, run_manager=None, **kwargs):
        prompt = str(messages[-1].content)
        body = prompt.split("[1] ", 1)[1].split("\n", 1)[1]
        first = re.split(r"(?<=[.!?])\s", " ".join(body.split("\n\n")[0].split()))[0]
        yield ChatGenerationChunk(message=AIMessageChunk(content=first.rstrip(".") + " [1]. "))
        yield ChatGenerationChunk(message=AIMessageChunk(content="That is all [1]."))

    def _generate(self, *args, **kwargs):  # pragma: no cover
        raise NotImplementedError


def _copilot(home, model, tmp_path, synthesis: str = "off", in_process: bool = False) -> Copilot:
    from copilot.build import build_copilot

    settings = Settings(home=home, synthesis=synthesis)
    backend = LangChainBackend(model=model, name="scripted", context=4096, in_process=in_process)
    return build_copilot(settings, backend=backend, audit=AuditTrail(tmp_path / "audit.sqlite"))


@pytest.fixture()
def card_copilot(demo_home, tmp_path) -> Copilot:
    return _copilot(demo_home, Untouchable(messages=iter([])), tmp_path)


def test_an_alarm_question_gets_the_manual_row_and_the_sop_step_without_a_model(card_copilot):
    answer = card_copilot.ask("Autoclave AC-02 stopped with alarm E-22, what now?", user=OLGA)
    assert answer.status == "quoted" and answer.text.startswith(EVIDENCE_INTRO)
    assert answer.evidence[0].headline and "E-22" in answer.evidence[0].text
    docs = {c.doc_id for c in answer.citations}
    assert {"MAN-AC-02", "SOP-STE-001"} <= docs  # the alarm table *and* the SOP step
    row = next(line for line in answer.evidence if line.kind == "row")
    assert row.header and row.header[0] == "Code" and row.cells[0] == "E-22"
    assert "Operator action: Do not open the door to the clean side" in row.reading
    quotes = {c.n: c.quote for c in answer.citations}
    for line in answer.evidence:  # every line is verbatim text of the passage it cites
        assert line.text in quotes[line.n]
    assert not any("Revision History" in c.section for c in answer.citations)


def test_a_value_question_is_headlined_by_the_line_holding_the_value(card_copilot):
    answer = card_copilot.ask("What is the exposure time of cycle P1 on AC-02?", user=OLGA)
    assert answer.status == "quoted"
    head = answer.evidence[0]
    assert "20 min" in head.reading
    cited = next(c for c in answer.citations if c.n == head.n)
    assert cited.doc_id == "SOP-STE-001" and cited.revision == "5"


@pytest.mark.parametrize("question", [
    "When does the online conductivity cell on the WS-01 outlet have to be replaced?",
    "What relative humidity range must B2-205 be in before the balance check?",
])
def test_on_topic_but_not_stated_is_said_not_quoted(card_copilot, question):
    """Near-misses from the tuning set: the SOP is on topic but does not state the value."""
    answer = card_copilot.ask(question, user=OLGA)
    assert answer.status == "declined"
    assert answer.decline_reason.startswith("value_not_stated")
    assert answer.text.startswith("The effective documents do not state")
    assert answer.closest and not answer.citations and not answer.evidence


def test_the_card_is_recorded_before_it_is_shown(card_copilot):
    events = card_copilot.ask_stream("What is the exposure time of cycle P1 on AC-02?", user=OLGA)
    first = next(events)
    assert first.kind == "card"
    record = card_copilot.audit.records()[-1]  # committed when the card is handed out
    assert record.action == "ask" and record.details["answer"] == first.answer.text
    assert record.details["evidence"][0]["text"] == first.answer.evidence[0].text
    assert [e.kind for e in events] == ["answer"]
    assert [r.action for r in card_copilot.audit.records()] == ["ask"]  # one record, no model


def test_a_verified_summary_comes_after_the_card_each_part_recorded_first(demo_home, tmp_path):
    copilot = _copilot(demo_home, CopyingModel(messages=iter([])), tmp_path, synthesis="on")
    kinds, trail = [], copilot.audit
    for event in copilot.ask_stream("What must the operator do when AC-02 shows alarm E-22?",
                                    user=OLGA):
        kinds.append(event.kind)
        if event.kind == "sentence":
            part = trail.records()[-1]
            assert part.action == "answer_part" and part.details["text"] == event.text
        if event.kind == "answer":
            answer = event.answer
    assert kinds[0] == "card" and kinds[-1] == "answer", kinds
    assert "sentence" in kinds, [(c.text, c.reason) for c in answer.sentences]
    assert answer.status == "grounded" and answer.summary
    assert answer.text.startswith(SUMMARY_INTRO) and EVIDENCE_INTRO in answer.text
    final = trail.records()[-1]
    assert final.action == "answer_part" and final.details["final"] is True
    assert final.details["draft"] == answer.draft and final.details["model"] == "scripted"
    assert trail.verify().ok


def test_a_busy_model_skips_the_summary_instead_of_queueing(demo_home, tmp_path):
    copilot = _copilot(demo_home, Untouchable(messages=iter([])), tmp_path, synthesis="on",
                       in_process=True)
    backend = copilot.pipeline.backend
    with backend.exclusive():  # another question is being written
        answer = copilot.ask("What is the exposure time of cycle P1 on AC-02?", user=OLGA)
    assert answer.status == "quoted" and answer.timings.get("summary_skipped") == 1.0


def test_synthesis_auto_is_off_for_the_bundled_model_only():
    assert not synthesis_enabled(Settings(llm="embedded"))
    assert synthesis_enabled(Settings(llm="ollama:llama3.2:3b"))
    # an in-process GGUF: measured, its summaries did not survive verification
    assert not synthesis_enabled(Settings(llm="/models/qwen.gguf"))
    assert synthesis_enabled(Settings(llm="/models/qwen.gguf", synthesis="on"))
    assert synthesis_enabled(Settings(llm="embedded", synthesis="on"))
    assert not synthesis_enabled(Settings(llm="openai:x", synthesis="off"))


# ---- units of the card and what a question asks for (pure functions) -----------------------

def _hit(text: str, start: int = 0) -> Hit:
    return Hit(chunk_id="c1", doc_id="MAN-X", title="Manual", doc_type="manual", revision="A",
               status="effective", section="5 Alarms", text=text, start=start, end=start + len(text),
               source="x.md", score=1.0)


def test_a_chunk_starting_mid_table_gets_its_header_from_the_document():
    document = ("# Alarms\n\n| Code | Meaning |\n| --- | --- |\n| A-1 | low |\n| A-2 | high |\n")
    start = document.index("| A-2")
    units = split_units(_hit(document[start:], start), 1,
                        lambda hit: table_header_before(document, hit.start))
    assert units[0].kind == "row" and units[0].header == ("Code", "Meaning")
    assert units[0].reading() == "Code: A-2; Meaning: high"


def test_steps_keep_their_continuation_lines_and_order():
    text = "1. Close the door\n   and lock it.\n2. Start the cycle.\n\nA note. Another note."
    units = split_units(_hit(text), 1)
    assert [(u.kind, u.text) for u in units] == [
        ("step", "1. Close the door and lock it."), ("step", "2. Start the cycle."),
        ("sentence", "A note."), ("sentence", "Another note.")]


@pytest.mark.parametrize("question,kind", [
    ("How often are the AC-02 door gaskets replaced?", "frequency"),
    ("When does the conductivity cell on WS-01 have to be replaced?", "frequency"),
    ("How long can GR-04 stay dirty before cleaning?", "duration"),
    ("What temperature must the vault be kept at?", "temperature"),
    ("Who approves the deviation classification?", "role"),
    ("What percentage of the limit is the alert level?", "percentage"),
    ("How many settle plates per shift?", "count"),
    ("Was an entry in the HPLC-05 logbook back-dated?", "yes_no"),
    ("What does alarm E-22 mean on AC-02?", "code_meaning"),
    ("What is the acceptance criterion for the leak test?", "criterion"),
    ("What hole size in the outer wrap makes a package defective?", "measure"),
    # The situation told first does not name the kind; the asking sentence does.
    ("The SST failed on HPLC-05 but the peaks look fine. Can I still report the results?",
     "yes_no"),
])
def test_what_a_question_asks_for(question, kind):
    assert asked_for(question).kind == kind


def test_a_line_answers_only_with_a_value_of_the_asked_kind_about_the_subject():
    asked = asked_for("How often are the AC-02 door gaskets replaced?")
    assert holds(asked, "Every 6 months: door gasket replacement, vacuum pump service")
    assert not holds(asked, "Replace a torn door gasket and call engineering")  # no interval
    assert not holds(asked, "Every 6 months: vent filter integrity test")  # another subject
    assert asked_for("What is the replacement interval of the HEPA filter?").label == \
        "the replacement interval of the HEPA filter"


def test_digits_of_codes_references_dates_and_redactions_are_no_value():
    count = asked_for("How many batches were rejected after the EM deviations?")
    assert not holds(count, "You rejected (b)(4) batches after the EM deviations.")
    assert holds(count, "You rejected 3 batches after the EM deviations.")
    limit = asked_for("What is the pass limit for the ISO-03 glove test?")
    assert not holds(limit, "If the glove test fails, ISO-03 shows alarm I-07.")
    size = asked_for("What hole size makes a sterile package defective?")
    assert not holds(size, "A defective sterile package is handled under Sec. 300.400 "
                           "(issued 8/23/74).")
    assert holds(size, "A sterile package with a hole of 1 mm or more is defective.")


def test_a_value_must_be_said_of_the_subject_in_the_same_sentence():
    asked = asked_for("On what date did the analyst pour acid on the balance slips?")
    assert not holds(asked, "The analyst poured acid on the balance slips. The employee "
                            "reported the incident to management on November 22, 2022.")
    assert holds(asked, "On November 20, 2022 the analyst poured acid on the balance slips.")


def test_a_line_of_another_document_joins_the_card_only_when_nearly_as_good():
    from copilot.evidence import Card, CardComposer, ScoredUnit, Unit

    def scored(doc, text, score, names_code=False, order=0):
        return ScoredUnit(Unit(1 if doc == "SOP" else 2, "sentence", text, order, doc=doc),
                          score, score, names_code)

    composer = CardComposer(embed=lambda texts: None)
    units = [scored("SOP", "The limit is 50 Pa in 5 min.", 1.0),
             scored("MAN", "The test runs at 1,000 Pa.", 0.8),
             scored("MAN", "Alarm I-07 means the decay test failed.", 0.75, names_code=True),
             scored("SOP", "Record both results.", 0.75, order=1)]
    card: Card = composer.compose("What is the pass limit?", units)
    # The headline's passage first, then the other document's line.
    assert [u.unit.text for u in card.support] == ["Record both results.",
                                                    "Alarm I-07 means the decay test failed."]


def test_the_synthesis_benchmark_refuses_a_gguf_that_is_not_the_pinned_file(tmp_path):
    from evals.bench_synthesis import ChecksumError, checked_gguf

    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ChecksumError, match="model.gguf: sha256 .* is not the pinned"):
        checked_gguf(fake)
    with pytest.raises(ChecksumError, match="not a file"):
        checked_gguf(tmp_path / "missing.gguf")
    assert checked_gguf(fake, expected=__import__("hashlib").sha256(fake.read_bytes())
                        .hexdigest()) == fake
