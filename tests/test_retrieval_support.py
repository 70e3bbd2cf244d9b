"""Retrieval support (`AnswerPipeline.retrieval_support`): when the retrieved passages are
close enough to a question to answer it at all.

A terse question ("AC-02 parked in standby, jacket sits at what?") is far from a whole
passage but close to the one line that answers it: such a line, in passages that share
enough of the question's words, is support (round 3). Codes the passages do not hold still
decline, and so do passages far from the question with no close line. The fake embedder
below fixes every similarity; the last test uses the real one on a terse question of the
tuning sets (nearmiss_demo_fresh2, tuning material in round 3).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from copilot.grounding import GroundingVerifier
from copilot.llm import ScriptedBackend
from copilot.pipeline import AnswerPipeline, AnswerPolicy
from copilot.prompting import PromptTemplate
from knowledge import Hit

QUESTION = "Autoclave parked in standby, jacket sits at what?"
PASSAGE = ("The chamber door stays closed during standby.\n"
           "In standby the jacket is held at 1.0 bar(g) so that the next cycle starts warm.\n"
           "Record the standby start in the logbook.")


def _vector(similarity: float) -> np.ndarray:
    """A unit vector whose similarity to the question's ([1, 0, 0]) is `similarity`."""
    return np.array([similarity, math.sqrt(1 - similarity ** 2), 0.0])


class FakeEmbedder:
    """The question is [1, 0, 0]; a whole passage (title, section and text on separate
    lines) is `passage` away from it; a single line is `line` away when it names the
    jacket, `other` away otherwise."""

    def __init__(self, passage: float, line: float, other: float = 0.1) -> None:
        self.passage, self.line, self.other = passage, line, other
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        rows = []
        for text in texts:
            if text == QUESTION:
                rows.append(np.array([1.0, 0.0, 0.0]))
            elif "\n" in text:
                rows.append(_vector(self.passage))
            else:
                rows.append(_vector(self.line if "jacket" in text else self.other))
        return np.vstack(rows)


class FakeKB:
    def __init__(self, embedder: FakeEmbedder) -> None:
        self.embedder = embedder

    def document(self, doc_id: str, revision: str):
        return None


def _hit(text: str = PASSAGE, section: str = "4 Standby", doc_id: str = "MAN-AC-02",
         title: str = "Steam Sterilizer Manual") -> Hit:
    return Hit(chunk_id=f"{doc_id}#1", doc_id=doc_id, title=title,
               doc_type="manual", revision="1", status="effective", section=section,
               text=text, start=0, end=len(text), source=f"manuals/{doc_id}.md", score=1.0,
               equipment=["AC-02"], access=["operator"])


def _pipeline(embedder: FakeEmbedder, **policy) -> AnswerPipeline:
    kb = FakeKB(embedder)
    return AnswerPipeline(kb, ScriptedBackend([""]), GroundingVerifier(embedder),
                          PromptTemplate.load(), AnswerPolicy(**policy))


def test_a_line_close_to_a_terse_question_is_support_when_the_passage_is_far():
    pipeline = _pipeline(FakeEmbedder(passage=0.30, line=0.70))
    support, reason = pipeline.retrieval_support(QUESTION, [_hit()])
    assert reason == ""
    assert support == pytest.approx(0.70, abs=1e-6)  # the line's similarity, not the passage's


def test_without_a_close_line_a_far_passage_still_declines():
    pipeline = _pipeline(FakeEmbedder(passage=0.30, line=0.45))
    support, reason = pipeline.retrieval_support(QUESTION, [_hit()])
    assert support == pytest.approx(0.30, abs=1e-6)
    assert reason.startswith("closest passage is too far from the question")


def test_a_moderate_passage_with_few_shared_words_declines_without_a_close_line():
    # 0.45 is above the floor but below the confident similarity; the passage holds
    # "jacket" and "standby" only: 2 of the question's 5 content words (40 %).
    pipeline = _pipeline(FakeEmbedder(passage=0.45, line=0.50))
    _, reason = pipeline.retrieval_support(QUESTION, [_hit()])
    assert reason.startswith("the closest passages do not cover the question")
    # the same passages with a close line are support
    _, reason = _pipeline(FakeEmbedder(passage=0.45, line=0.60)).retrieval_support(
        QUESTION, [_hit()])
    assert reason == ""


def test_a_close_line_in_passages_sharing_too_few_words_is_no_support():
    # The line is close but the passage shares no word of the question but the jacket.
    text = "The jacket is drained before maintenance."
    pipeline = _pipeline(FakeEmbedder(passage=0.30, line=0.80))
    _, reason = pipeline.retrieval_support(QUESTION, [_hit(text, section="7 Maintenance")])
    assert reason.startswith("closest passage is too far")
    # and the line threshold is the policy's: raised above the line, the close line fails
    _, reason = _pipeline(FakeEmbedder(passage=0.30, line=0.70),
                          line_support=0.75).retrieval_support(QUESTION, [_hit()])
    assert reason.startswith("closest passage is too far")


def test_passages_sharing_most_words_may_be_further_away_but_not_far():
    # The title adds "autoclave": 3 of the 5 content words (60 %) are in the passage; no line is
    # close (0.40), so only the word coverage can carry it.
    hit = _hit(title="Autoclave AC-02 Manual")
    _, reason = _pipeline(FakeEmbedder(passage=0.28, line=0.40)).retrieval_support(
        QUESTION, [hit])
    assert reason == ""
    _, reason = _pipeline(FakeEmbedder(passage=0.20, line=0.40)).retrieval_support(
        QUESTION, [hit])
    assert reason.startswith("closest passage is too far")
    # without the title's word the same similarity declines
    _, reason = _pipeline(FakeEmbedder(passage=0.28, line=0.40)).retrieval_support(
        QUESTION, [_hit()])
    assert reason.startswith("closest passage is too far")


def test_a_code_missing_from_the_passages_declines_however_close_a_line_is():
    question = "AC-02 shows E-99 in standby, jacket sits at what?"
    embedder = FakeEmbedder(passage=0.30, line=0.90)
    support, reason = _pipeline(embedder).retrieval_support(question, [_hit()])
    assert support == 0.0 and reason == "E-99 not found in the effective documents"
    assert embedder.calls == []  # declined before anything was embedded


def test_a_confident_passage_needs_no_line_check():
    embedder = FakeEmbedder(passage=0.60, line=0.20)
    support, reason = _pipeline(embedder).retrieval_support(QUESTION, [_hit()])
    assert reason == "" and support == pytest.approx(0.60, abs=1e-6)
    assert len(embedder.calls) == 1  # the passages only: no line was embedded


def test_the_line_check_reuses_the_question_vector_of_the_passage_check():
    embedder = FakeEmbedder(passage=0.30, line=0.70)
    support, reason = _pipeline(embedder).retrieval_support(QUESTION, [_hit()])
    assert reason == "" and support == pytest.approx(0.70, abs=1e-6)
    # the question was embedded once, with the passages; the line check embedded lines only
    assert sum(text == QUESTION for call in embedder.calls for text in call) == 1
    assert len(embedder.calls) == 2 and QUESTION not in embedder.calls[1]
    # called alone, the line check embeds the question itself: the same figure
    alone = FakeEmbedder(passage=0.30, line=0.70)
    assert _pipeline(alone).best_line_similarity(QUESTION, [_hit()]) == pytest.approx(support)
    assert alone.calls[0][0] == QUESTION


def test_a_terse_question_of_the_tuning_sets_reaches_the_card(demo_copilot):
    """nm2d-a21 (nearmiss_demo_fresh2, tuning material in round 3) was declined by retrieval
    support (passage similarity 0.49, half its words); its answering line is close."""
    pipeline = demo_copilot.pipeline
    question = "min plate count on the main peak for SST?"
    hits = demo_copilot.kb.search(question, k=pipeline.policy.top_k)
    support, reason = pipeline.retrieval_support(question, hits)
    assert reason == ""
    assert pipeline.best_line_similarity(question, hits) >= pipeline.policy.line_support
    answer = pipeline.answer(question, role="operator")
    assert answer.status != "declined"
    assert "SOP-QC-012" in answer.cited_doc_ids()
