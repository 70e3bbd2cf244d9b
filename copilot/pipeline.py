"""One question through the pipeline: retrieve -> evidence card -> (model summary) -> answer.

Evidence first: the answer card is composed from the documents themselves (the line that
answers, then the steps or rows that support it, each cited), with no model on the path, so
it is shown within a fraction of a second. When the question asks for a kind of value none of
the passages states (a replacement interval, a percentage, a responsible role), the copilot
says so instead of quoting on-topic lines that do not answer. When retrieval finds no
support, it declines and lists the closest sources.

The model second: with synthesis on, a model may write a short summary over the card's
sources; only sentences the grounding verifier accepts are added. When the in-process model
is busy with another question the summary is skipped, never queued: the card stands alone.
The model's draft is never shown as such.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, cast

import numpy as np

from guardrails import InvalidInputError, bounded_text
from knowledge import Hit, KnowledgeBase, SearchFilter

from .answer import Answer, Citation, EvidenceLine, LineKind
from .answerability import VALUE_KINDS, Asked, asked_for, holds, kind_name, states_value
from .errors import BadQuestionError
from .evidence import Card, CardComposer, ScoredUnit, Unit, table_header_before
from .grounding import (
    GroundingVerifier,
    PreparedPassages,
    codes_in,
    content_words,
    split_sentences,
)
from .llm import ChatBackend
from .prompting import PromptTemplate

MAX_QUESTION_CHARS = 2000
MAX_DESCRIPTION_CHARS = 4000  # a deviation description: a paragraph or two
MAX_COMMENT_CHARS = 2000
_LOT_NUMBER = re.compile(r"^[A-Z]+\d[A-Z0-9]*-")  # KT50-26-0142, HM1-26-0037
NOT_FOUND = "NOT FOUND"
DECLINE_TEXT = ("Not found in the effective documents. I cannot answer this from the "
                "controlled documents I can see; the closest sources are listed for you to check, "
                "or ask your supervisor.")
# The model starting to write the prompt's next part is the end of its answer (the bundled
# 135M model otherwise repeats "Question: ..." and the sources until max_tokens).
STOP_SEQUENCES = ["Question:", "Sources:"]
RUNAWAY_SENTENCE_CHARS = 300
EVIDENCE_INTRO = "From the documents:"
SUMMARY_INTRO = "Summary, verified against the sources:"
NOT_STATED_TAIL = ("The closest sources are listed for you to check, or ask your supervisor.")


@dataclass(frozen=True)
class CardEvent:
    """The evidence answer, shown first (its text is the card)."""

    answer: Answer
    kind: ClassVar[str] = "card"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": "", "answer": self.answer.model_dump(mode="json")}


@dataclass(frozen=True)
class SentenceEvent:
    """A verified summary sentence, added after the card."""

    text: str
    kind: ClassVar[str] = "sentence"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": self.text, "answer": None}


@dataclass(frozen=True)
class AnswerEvent:
    """The final Answer (a decline or refusal is the only event)."""

    answer: Answer
    kind: ClassVar[str] = "answer"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "text": "", "answer": self.answer.model_dump(mode="json")}


# A streaming event; `kind` names it for consumers that switch on a string.
Event = CardEvent | SentenceEvent | AnswerEvent


def final_answer(events: Iterable[Event]) -> Answer:
    """The last `AnswerEvent`'s answer, once the stream has run to its end."""
    final = None
    for event in events:
        if isinstance(event, AnswerEvent):
            final = event.answer
    if final is None:
        raise RuntimeError("the answer stream ended without an answer")
    return final


@dataclass
class AnswerPolicy:
    top_k: int = 4
    min_retrieval_support: float = 0.35  # below: decline whatever the words
    confident_similarity: float = 0.55  # below this, the passages must also share words
    min_word_coverage: float = 0.6  # share of the question's content words in one passage
    # Round 3 (tuned on the fresh2, tune and QA sets; see evals/datasets/NEARMISS.md): a terse
    # question ("AC-02 parked in standby, jacket sits at what?") is far from a whole passage
    # but close to the one line that answers it. A line this close, in passages sharing at
    # least `line_word_coverage` of the question's words, is support; so are passages down to
    # `covered_support` that share `min_word_coverage` of its words. Whether the line states
    # what was asked is then the answerability check's to decide.
    line_support: float = 0.55
    line_word_coverage: float = 0.4
    covered_support: float = 0.25
    support_lines: int = 200  # at most this many lines are embedded for the line check
    min_kept_share: float = 0.5
    card_passages: int = 6  # passages the card picks lines from (the model gets top_k)
    # The line that answers is often in a passage ranked just below those (the SOP's
    # acceptance section under its scope and revision history): once the top `card_passages`
    # hold a line stating what was asked, the card's lines are chosen among this many
    # passages, those below the top ones only from the documents the top ones come from (a
    # new document down there brought the corpus's own SOURCES table onto a card). Whether
    # the question is answered at all is still decided on the top `card_passages` alone
    # (reading more there answered near-miss questions; round 7).
    card_read_passages: int = 10
    synthesis: bool = False  # a model summary after the card (see settings: COPILOT_SYNTHESIS)
    prompt_budget: int = 500  # tokens of prompt; on a CPU, time to first token grows with it
    # Stop generating once this many sentences of the draft failed verification and none
    # passed: such a draft ends as quotations anyway, and on a CPU every further token costs
    # the operator time (0: always generate to the end).
    abandon_after_failures: int = 3


class AnswerPipeline:
    def __init__(self, kb: KnowledgeBase, backend: ChatBackend, verifier: GroundingVerifier,
                 prompt: PromptTemplate, policy: AnswerPolicy,
                 prepare_hits: Callable[[list[Hit]], list[Hit]] | None = None) -> None:
        self.kb = kb
        # Applied to retrieved passages before the model, the verifier or a quote sees them
        # (personal data in deviation reports is redacted here).
        self.prepare_hits = prepare_hits or (lambda hits: hits)
        self.backend = backend
        self.verifier = verifier
        self.prompt = prompt
        self.policy = policy
        self.composer = CardComposer(kb.embedder.embed, self._header_before)

    # ---- public -------------------------------------------------------------------------
    def answer(self, question: str, role: str | None = None) -> Answer:
        return final_answer(self.stream(question, role))

    def stream(self, question: str, role: str | None = None) -> Iterator[Event]:
        """The card, any verified summary sentences, then the final answer (a decline is the
        only event). `question` comes validated (`validate_question`) and, when personal data
        is scrubbed, scrubbed: `Copilot.ask_stream` does both, once."""
        started = time.perf_counter()
        policy = self.policy
        found = self.kb.search(question, k=max(policy.top_k, policy.card_passages,
                                               policy.card_read_passages),
                               filters=SearchFilter(role=role))
        # Passages flagged at ingest as carrying instructions (prompt injection hidden in a
        # document) never reach the model or the card; they wait for an admin's review.
        hits = self.prepare_hits([h for h in found if not h.quarantined])
        timings = {"retrieve": time.perf_counter() - started}
        support, reason = self.retrieval_support(question, hits[:policy.top_k])
        if reason:
            yield AnswerEvent(self._declined(question, hits, reason, timings))
            return
        asked = asked_for(question)
        narrow = hits[:policy.card_passages]
        wide, read = narrow, None
        if len(hits) > policy.card_passages and policy.card_read_passages > policy.card_passages:
            # Once answered, the lines may come from the passages just below the top ones, of
            # the documents the top ones come from (a headline there must hold what was
            # asked too).
            top_docs = {h.doc_id for h in narrow}
            wide = hits[:policy.card_read_passages]
            read = [n for n, h in enumerate(wide, start=1)
                    if n <= policy.card_passages or h.doc_id in top_docs]
        # Passages are split into lines once; the top passages' lines are the first of them.
        units = self.composer.units_of(wide, read)
        narrow_units = [u for u in units if u.n <= len(narrow)]
        accepts = self._accepts(wide, asked)
        # Whether the question is answered is decided on the top passages alone: on the lines
        # their card would weigh, one of which must hold what was asked. That needs no vector,
        # so the card is composed once, over the wider set (composing the top passages' card
        # too cost 15% of the evidence's p50).
        if not any(accepts(u) for u in self.composer.shortlist(question, narrow,
                                                               units=narrow_units)):
            yield AnswerEvent(self._not_stated(question, hits, asked, timings))
            return
        card = self.compose_card(question, wide, asked, read, units, accepts)
        if card.headline is None and wide is not narrow:
            # The wider set's lines crowded every line holding what was asked out of the few
            # that are embedded: the top passages' card, as the decision saw them.
            card = self.compose_card(question, narrow, asked, units=narrow_units,
                                     accepts=accepts)
        timings["evidence"] = time.perf_counter() - started
        answer = self._card_answer(question, hits, card, timings)
        yield CardEvent(answer)
        if not policy.synthesis:
            yield AnswerEvent(answer)
            return
        with self.backend.claimed() as free:
            if not free:
                # Another question holds the in-process model: its summary would keep this
                # operator waiting for nothing the card does not already say.
                timings["summary_skipped"] = 1.0
                yield AnswerEvent(answer.model_copy(update={"timings": timings}))
                return
            yield from self._summarise(question, answer, hits, started, timings)

    def compose_card(self, question: str, hits: list[Hit], asked: Asked | None = None,
                     read: Collection[int] | None = None, units: Sequence[Unit] | None = None,
                     accepts: Callable[[Unit], bool] | None = None) -> Card:
        """The evidence card for these passages (those numbered in `read`, when given;
        `units`: their lines, when already split): its headline must hold what was asked."""
        asked = asked or asked_for(question)
        accepts = accepts or self._accepts(hits, asked)
        scored = self.composer.score(question, hits, read, units)
        return self.composer.compose(
            question, scored, accept=lambda s: accepts(s.unit),
            # A value question is best answered by a line that states a value.
            prefer=lambda s: 0.1 if asked.kind in VALUE_KINDS and states_value(
                s.unit.reading()) else 0.0)

    @staticmethod
    def _accepts(hits: Sequence[Hit], asked: Asked) -> Callable[[Unit], bool]:
        """Whether a line of these passages (read with its section's title) holds what was
        asked; each line is checked once per question."""
        verdicts: dict[Unit, bool] = {}

        def accepts(unit: Unit) -> bool:
            if unit not in verdicts:
                verdicts[unit] = holds(asked, f"{_unnumbered(hits[unit.n - 1].section)} "
                                              f"{unit.reading()}")
            return verdicts[unit]

        return accepts

    def _summarise(self, question: str, card: Answer, hits: list[Hit], started: float,
                   timings: dict[str, float]) -> Iterator[Event]:
        """The model's summary over the best passages (the card's come from them), verified
        sentence by sentence."""
        messages, used = self.prompt.render(question, hits[:self.policy.top_k],
                                            self.policy.prompt_budget, self.backend.count_tokens)
        # The model saw focused excerpts; the verifier checks against the whole passages.
        draft = ""
        shown = passed = failed = 0
        first_token = None
        (_, system), (_, user) = messages
        prepared = self.verifier.prepare([h.text for h in used])  # embeds only when needed
        generate_started = time.perf_counter()
        timings["generate_start"] = generate_started - started
        for piece in self.backend.stream(system, user, STOP_SEQUENCES):
            if not piece:
                continue
            if first_token is None:
                first_token = time.perf_counter() - started
            draft += piece
            said = said_before_not_found(draft)
            finished = len(said) < len(draft)  # the model said it has nothing more
            sentences = split_sentences(said)
            complete, tail = (sentences, "") if finished else \
                (sentences[:-1], sentences[-1] if sentences else "")
            for sentence in complete[shown:]:
                verdict = self.verifier.verify(sentence, prepared)
                if verdict and verdict[0].supported:
                    passed += 1
                    yield SentenceEvent(verdict[0].shown_text)
                elif verdict:  # echoes of the prompt count too: invented source lists
                    failed += 1
            shown = max(shown, len(complete))
            if finished:
                break
            # A "sentence" running on past any step's length is a model stuck in a loop.
            runaway = len(tail) // RUNAWAY_SENTENCE_CHARS
            if passed == 0 and 0 < self.policy.abandon_after_failures <= failed + runaway:
                timings["abandoned_at"] = time.perf_counter() - started
                break
        timings["ttft"] = first_token if first_token is not None else time.perf_counter() - started
        timings["generate"] = time.perf_counter() - generate_started
        answer = self._with_summary(card, draft, used, prepared)
        timings["total"] = time.perf_counter() - started
        yield AnswerEvent(answer.model_copy(update={"timings": timings}))

    def retrieval_support(self, question: str, hits: list[Hit]) -> tuple[float, str]:
        """Best dense similarity among the hits, and a decline reason when support is lacking.

        Declines when a code in the question (alarm, tag, id) is in no retrieved passage; when
        the closest passage is far from the question; or when it is only moderately close AND
        shares few of the question's content words (the topic is probably not covered) --
        unless one line of the passages is close to the question and the passages share
        enough of its words (a terse question is far from a passage, near its line), or the
        passages share most of its words and are not very far (`AnswerPolicy`, round 3).
        Thresholds were set on the demo and shared-corpus QA sets (see the README) and the
        near-miss tuning sets.
        """
        if not hits:
            return 0.0, "no document matched the question"
        found_text = " ".join(f"{h.doc_id} {h.title} {' '.join(h.equipment)} {h.text}" for h in hits)
        # Batch and lot numbers (KT50-26-0142: letters and digits in the first part) name the
        # situation, not the topic, and rarely occur in SOPs; alarm codes, tags and document
        # ids must be found, or the question is about something the documents do not cover.
        wanted = {c for c in codes_in(question) if not _LOT_NUMBER.match(c)}
        missing = sorted(wanted - codes_in(found_text))
        if missing:
            return 0.0, f"{', '.join(missing)} not found in the effective documents"
        vectors = self.kb.embedder.embed([question] + [f"{h.title}\n{h.section}\n{h.text}"
                                                       for h in hits])
        best = float((vectors[1:] @ vectors[0]).max())
        if wanted and best >= self.policy.min_retrieval_support:
            return best, ""  # every code asked about is in the passages: on topic
        # Placeholders of scrubbed personal data (<PERSON_1>) are not words of the question.
        words = content_words(re.sub(r"<[A-Z_]+_\d+>", " ", question))
        coverage = max(len(words & content_words(f"{h.title} {h.section} {h.text}"))
                       / max(len(words), 1) for h in hits)
        policy = self.policy
        far = best < policy.min_retrieval_support
        # Passages sharing most of the question's words may be a little further away.
        covered_floor = min(policy.covered_support, policy.min_retrieval_support)
        if best >= policy.confident_similarity or (
                coverage >= policy.min_word_coverage and best >= covered_floor):
            return best, ""
        # The passages as a whole are far: one of their lines may still be close.
        if coverage >= policy.line_word_coverage:
            line = self.best_line_similarity(question, hits, vectors[0])
            if line >= policy.line_support:
                return line, ""
        if far:
            return best, f"closest passage is too far from the question (similarity {best:.2f})"
        return best, (f"the closest passages do not cover the question (similarity "
                      f"{best:.2f}, {coverage:.0%} of its words)")

    def best_line_similarity(self, question: str, hits: list[Hit],
                             question_vector: np.ndarray | None = None) -> float:
        """The highest similarity of the question to one line or sentence of the passages
        (of three words or more; table rows as written). `question_vector`: the question as
        the same embedder already embedded it (retrieval support has it), so it is not
        embedded again."""
        lines = [sentence for hit in hits for line in hit.text.splitlines()
                 for sentence in (split_sentences(line) or [line])
                 if len(sentence.split()) >= 3][:self.policy.support_lines]
        if not lines:
            return 0.0
        if question_vector is None:
            vectors = self.kb.embedder.embed([question] + lines)
            question_vector, line_vectors = vectors[0], vectors[1:]
        else:
            line_vectors = self.kb.embedder.embed(lines)
        return float((line_vectors @ question_vector).max())

    # ---- outcomes -----------------------------------------------------------------------
    def _card_answer(self, question: str, hits: list[Hit], card: Card,
                     timings: dict[str, float]) -> Answer:
        """The card as an answer. [n] is the passage's place in the retrieval order, the same
        number the model's prompt gives it, so a summary's citations and the card's agree."""
        lines = [_evidence_line(s, s.unit.n, headline=(s is card.headline)) for s in card.units]
        # The headline's source is listed first: it is the one that answers.
        numbers = sorted({line.n for line in lines}, key=lambda n: (n != lines[0].n, n))
        citations = [Citation.from_hit(n, hits[n - 1]) for n in numbers]
        return Answer(question=question, text=card_text(lines, citations), status="quoted",
                      citations=citations, evidence=lines, prompt_version=self.prompt.version,
                      timings=timings)

    def _with_summary(self, card: Answer, draft: str, used: list[Hit],
                      prepared: PreparedPassages) -> Answer:
        """The card with the summary sentences the verifier accepted; the card alone when
        none survives (nothing is said about the ones that did not)."""
        # The same text the stream verified: a sentence shown while streaming is never
        # withdrawn because the model added NOT FOUND after it.
        said = said_before_not_found(draft)
        verdicts = self.verifier.verify(said, prepared) if said.strip() else []
        kept = [v for v in verdicts if v.supported]
        update: dict = {"draft": draft, "sentences": verdicts, "model": self.backend.name}
        if kept:
            summary = [v.shown_text for v in kept]
            numbers = {c.n for c in card.citations} | {n for v in kept for n in v.citations}
            known = {c.n: c for c in card.citations}
            update.update(status="grounded", summary=summary,
                          citations=[known.get(n) or Citation.from_hit(n, used[n - 1])
                                     for n in sorted(numbers)],
                          text=f"{SUMMARY_INTRO} {' '.join(summary)}\n\n{card.text}")
        return card.model_copy(update=update)

    def _not_stated(self, question: str, hits: list[Hit], asked: Asked,
                    timings: dict[str, float]) -> Answer:
        """On topic, but none of the passages states what was asked: say so, never quote."""
        text = f"The effective documents do not state {asked.label}. {NOT_STATED_TAIL}"
        reason = (f"value_not_stated: no passage states {kind_name(asked.kind)}"
                  + (f" about {', '.join(sorted(asked.focus)[:6])}" if asked.focus else ""))
        return Answer(question=question, text=text, status="declined",
                      closest=[Citation.from_hit(n, h) for n, h in enumerate(hits[:3], start=1)],
                      decline_reason=reason, prompt_version=self.prompt.version,
                      timings=timings)

    def _header_before(self, hit: Hit) -> tuple[str, ...]:
        """The header of the table a chunk starts inside of, from the document's text."""
        document = self.kb.document(hit.doc_id, hit.revision)
        return table_header_before(document.text, hit.start) if document else ()

    def _declined(self, question: str, hits: list[Hit], reason: str,
                  timings: dict[str, float]) -> Answer:
        return Answer(question=question, text=DECLINE_TEXT, status="declined",
                      closest=[Citation.from_hit(n, h) for n, h in enumerate(hits[:3], start=1)],
                      decline_reason=reason, prompt_version=self.prompt.version,
                      timings=timings)


def said_before_not_found(draft: str) -> str:
    """What the model said before its NOT FOUND marker (all of it when there is none)."""
    cut = draft.find(NOT_FOUND)
    return draft if cut < 0 else draft[:cut]


_SECTION_NUMBER = re.compile(r"(?:^|(?<=>))\s*\d+(?:\.\d+)*\.?\s+")


def _unnumbered(section: str) -> str:
    """'6 Procedure > 6.5 If the SST fails' -> 'Procedure > If the SST fails': a section's
    number names its place, it is no count or limit."""
    return _SECTION_NUMBER.sub(" ", section or "").strip()


def _evidence_line(scored: ScoredUnit, n: int, headline: bool) -> EvidenceLine:
    unit = scored.unit
    return EvidenceLine(n=n, kind=cast(LineKind, unit.kind), text=unit.text,
                        reading=unit.reading(),
                        header=list(unit.header), cells=list(unit.cells), headline=headline)


def card_text(lines: list[EvidenceLine], citations: list[Citation]) -> str:
    """The card as plain text (CLI, API, audit): the headline, then the supporting lines
    (table rows read with their column names), verbatim with [n] markers, then what each [n]
    is: document, revision, section."""
    head, rest = lines[0], lines[1:]
    out = [EVIDENCE_INTRO, f"{_unbulleted(head.reading)} [{head.n}]"]
    out += [f"- {_unbulleted(line.reading)} [{line.n}]" for line in rest]
    out += [""] + [source_line(c) for c in citations]
    return "\n".join(out)


def _unbulleted(text: str) -> str:
    """A bullet's own marker goes (the card lists lines itself); step numbers stay."""
    return re.sub(r"^[-*•]\s+", "", text)


def source_line(citation: Citation) -> str:
    return (f"[{citation.n}] {citation.doc_id} rev {citation.revision}, "
            f"{citation.section or citation.title}")


def validate_text(text: str, name: str, limit: int, allow_empty: bool = False) -> str:
    """A free-text input bounded before any regex, model or scrubber sees it."""
    try:
        text = bounded_text(text, name, limit)
    except InvalidInputError as exc:
        raise BadQuestionError(str(exc)) from exc
    if not allow_empty and not text.strip():
        raise BadQuestionError(f"the {name} is empty")
    return text


def validate_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise BadQuestionError("the question is empty")
    # Refused before anything walks the text: a megabyte question costs nothing.
    if len(question) > 4 * MAX_QUESTION_CHARS:
        raise BadQuestionError(f"the question is {len(question)} characters long; "
                               f"the limit is {MAX_QUESTION_CHARS}")
    question = " ".join(question.split())
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuestionError(f"the question is {len(question)} characters long; "
                               f"the limit is {MAX_QUESTION_CHARS}")
    if not re.search(r"[A-Za-z]{2}", question):
        raise BadQuestionError("the question has no words in it")
    return question


__all__ = ["AnswerEvent", "AnswerPipeline", "AnswerPolicy", "CardEvent", "Event",
           "SentenceEvent", "final_answer", "validate_question"]
