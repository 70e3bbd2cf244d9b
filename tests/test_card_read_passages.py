"""The card's passages (round 7): whether a question is answered is decided on the top
`card_passages` passages; once it is, the card's lines are chosen among the top
`card_read_passages` (the line that answers is often ranked just below, the SOP's acceptance
section under its scope and revision history). A value stated only in a passage below the top
ones does not turn a near-miss decline into an answer. Sentences cut after an abbreviation
("Ltd.", "No.") are one line again.

The fake embedder fixes every similarity; retrieval is a fixed ranking.
"""

from __future__ import annotations

import math

import numpy as np

from copilot.evidence import Unit, joined_sentences, split_units
from copilot.grounding import GroundingVerifier
from copilot.llm import ScriptedBackend
from copilot.pipeline import AnswerPipeline, AnswerPolicy, final_answer
from copilot.prompting import PromptTemplate
from knowledge import Hit

QUESTION = "How long may the clean buffer tank be held before use?"
BEST = "The clean buffer tank may be held for at most 24 h before use, then it is re-cleaned."


def _vector(similarity: float) -> np.ndarray:
    return np.array([similarity, math.sqrt(1 - similarity ** 2), 0.0])


class FakeEmbedder:
    """The question is [1, 0, 0]; a passage (title, section and text on lines of their own)
    is close to it; a line is closest when it says the tank is re-cleaned, close when it names
    the tank, far otherwise."""

    def embed(self, texts: list[str]) -> np.ndarray:
        rows = []
        for text in texts:
            if text == QUESTION:
                rows.append(np.array([1.0, 0.0, 0.0]))
            elif "\n" in text:
                rows.append(_vector(0.6))
            elif "re-cleaned" in text:
                rows.append(_vector(0.9))
            elif "tank" in text:
                rows.append(_vector(0.6))
            else:
                rows.append(_vector(0.1))
        return np.vstack(rows)


class FakeKB:
    def __init__(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.embedder = FakeEmbedder()

    def search(self, question: str, k: int, filters=None) -> list[Hit]:
        return self.hits[:k]

    def document(self, doc_id: str, revision: str):
        return None


def _hit(n: int, text: str, section: str, doc_id: str = "SOP-TNK-001") -> Hit:
    return Hit(chunk_id=f"{doc_id}#{n}", doc_id=doc_id, title="Buffer tank handling",
               doc_type="sop", revision="2", status="effective", section=section, text=text,
               start=0, end=len(text), source=f"sops/{doc_id}.md", score=1.0 - n / 100,
               equipment=[], access=["operator"])


def _passages(top_states_time: bool) -> list[Hit]:
    top = [_hit(1, "The clean buffer tank is held closed before use; its hold time is 24 h."
                if top_states_time else "The clean buffer tank is held closed before use.",
                "6 Procedure > 6.2 Holding")]
    top += [_hit(n, f"Record step {n} of the buffer tank cleaning in the logbook.",
                 f"6 Procedure > 6.{n} Cleaning") for n in range(2, 7)]
    below = [_hit(7, "Wear gloves when handling the buffer tank.", "5 Safety"),
             _hit(8, BEST, "7 Acceptance Criteria")]
    return top + below


def _pipeline(hits: list[Hit], **policy) -> AnswerPipeline:
    kb = FakeKB(hits)
    return AnswerPipeline(kb, ScriptedBackend([""]), GroundingVerifier(kb.embedder),
                          PromptTemplate.load(), AnswerPolicy(**policy))


def test_once_the_top_passages_answer_the_card_may_take_a_line_ranked_below_them():
    answer = final_answer(_pipeline(_passages(top_states_time=True)).stream(QUESTION))
    assert answer.status == "quoted"
    assert BEST in [line.text for line in answer.evidence]
    assert answer.evidence[0].text == BEST and answer.evidence[0].n == 8
    # reading only the top passages, as before round 7, the line is not on the card
    narrow = final_answer(_pipeline(_passages(top_states_time=True),
                                    card_read_passages=6).stream(QUESTION))
    assert narrow.status == "quoted" and BEST not in [line.text for line in narrow.evidence]


def test_below_the_top_passages_only_their_documents_are_read():
    # the same line in a document none of the top passages comes from (a corpus's own
    # SOURCES list, another SOP) stays off the card
    hits = _passages(top_states_time=True)
    hits[7] = _hit(8, BEST, "Provenance", doc_id="SOURCES")
    answer = final_answer(_pipeline(hits).stream(QUESTION))
    assert answer.status == "quoted"
    assert BEST not in [line.text for line in answer.evidence]
    assert "SOURCES" not in answer.cited_doc_ids()


def test_a_value_stated_only_below_the_top_passages_does_not_answer_the_question():
    answer = final_answer(_pipeline(_passages(top_states_time=False)).stream(QUESTION))
    assert answer.status == "declined"
    assert answer.decline_reason.startswith("value_not_stated")


def test_a_sentence_cut_after_a_firms_suffix_is_one_line_again():
    text = ("Eugia Pharma Specialities Ltd. Units II and III were inspected from "
            "November 3 to 14, 2025. See No. 4 of the list. The firm was told.")
    assert joined_sentences(text) == [
        "Eugia Pharma Specialities Ltd. Units II and III were inspected from November 3 to "
        "14, 2025.", "See No. 4 of the list.", "The firm was told."]
    units = split_units(_hit(1, text, "Letter"), 1)
    assert [u.text for u in units if isinstance(u, Unit)][0].startswith(
        "Eugia Pharma Specialities Ltd. Units II")


def test_a_firms_suffix_before_a_sentence_opener_ends_the_sentence():
    assert joined_sentences("The vials were made by Acme Ltd. The firm recalled them.") == [
        "The vials were made by Acme Ltd.", "The firm recalled them."]


def test_reading_more_passages_embeds_proportionally_more_units():
    """Ten passages of two word-sharing sentences each, and one line of the first passage
    sharing no word with the question: with 16 embedded units for any number of passages it
    ranked by words alone and was never embedded (nor scored); 16 per 6 passages keep it."""
    from copilot.evidence import CardComposer

    question = "How is the buffer tank drained?"
    quiet = "Open valve V-3 slowly until the level indicator reads empty."
    hits = [_hit(n, f"The buffer tank is drained by gravity in area {n}. "
                    f"The buffer tank drain is checked in area {n}."
                    + (f" {quiet}" if n == 1 else ""), "6 Procedure") for n in range(1, 11)]
    scored = CardComposer(lambda texts: np.full((len(texts), 3), 0.5)).score(question, hits)
    assert quiet in [s.unit.text for s in scored]
    assert len(scored) == 21  # every unit: the budget for ten passages is 27


def _counting(pipeline: AnswerPipeline) -> list[int]:
    """The number of passages of each card the composer scores (embeds) for the pipeline."""
    calls: list[int] = []
    score = pipeline.composer.score

    def counted(question, hits, read=None, units=None):
        calls.append(len(hits))
        return score(question, hits, read, units)

    pipeline.composer.score = counted  # type: ignore[method-assign]
    return calls


def test_an_answered_question_is_scored_once_over_the_wider_passages():
    pipeline = _pipeline(_passages(top_states_time=True))
    calls = _counting(pipeline)
    answer = final_answer(pipeline.stream(QUESTION))
    assert answer.status == "quoted" and answer.evidence[0].text == BEST
    assert calls == [8]  # the top six passages' card is no longer composed first


def test_a_question_the_top_passages_do_not_answer_is_declined_without_scoring():
    pipeline = _pipeline(_passages(top_states_time=False))
    calls = _counting(pipeline)
    answer = final_answer(pipeline.stream(QUESTION))
    assert answer.status == "declined" and calls == []
