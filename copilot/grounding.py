"""Grounding verification: every shown sentence must be backed by the passage it cites.

Model-independent. A sentence is kept only when
  * it cites at least one source `[n]` that exists,
  * its meaning is close to the cited passage (embedding similarity with the bundled embedder,
    best match over the passage and its sentences),
  * enough of its content words occur in the cited passage (lexical coverage), and
  * every alarm code, equipment tag and document id in it occurs in a cited passage, and
    every quantity occurs there as the same (number, unit) pair with no opposite bound
    (`quantities`: "20 N" is not "20 kN", "121 °C" is "121.0 °C", "at most 15 min" is not
    "at least 15 min"), and
  * it says what the passage says (`claim_checks`): no negation or modality flipped, no
    quantifier added, no actor, object or side swapped, no step added, no value moved from
    another item. An invented setpoint or step fails here even when the wording sounds right.

Small models often copy a step word for word and forget its `[n]` marker (measured on the demo
set with SmolLM2-135M: 67 of 244 uncited sentences were verbatim copies of a source). Such a
sentence is given the citation of the one source it was copied from, but only when nearly all
of its content words occur there (`min_repair_coverage`, stricter than for cited sentences),
its meaning matches, and every number and code is in that source; its verdict says that the
citation was added. This is off by default: with SmolLM2-135M the sentences it let through were
mostly copies of the wrong passage (scope sections, revision tables), and key-fact recall fell
from 0.78 to 0.61, so quoting the relevant passages serves the operator better.

Echoes of the prompt's own scaffolding ("Question: ...", a source header) are marked as such:
they are not claims, so they are never shown and do not count against the kept share.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from knowledge import CODE, Embedder, codes_in

from .answer import SentenceCheck
from .claim_checks import SYNONYM_STEMS, check_claim, passage_units
from .quantities import canonical_unit, quantities_in
from .quantities import unsupported as unsupported_quantities

CITATION = re.compile(r"\[(\d{1,2})\]")
_WORD = re.compile(r"[a-zA-Z][a-zA-Z0-9-]+")
_STOP = frozenset(
    "a about above after again all also an and any are as at be been before being below both but "
    "by can could did do does doing during each few for from further had has have having here how "
    "i if in into is it its itself just more most must no nor not now of off on once only or other "
    "our out over own same shall should so some such than that the their them then there these "
    "they this those through to too under until up very was we were what when where which while "
    "who whom why will with would you your per use used using".split())
# The prompt's scaffolding repeated by the model: "[2] SOP-STE-001 rev 5, 6 Procedure",
# "Question: ...", "Answer (every sentence ...):", "Sources:".
_SCAFFOLD = re.compile(r"^\s*(?:\[\d{1,2}\]\s+[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)+\s+rev\b|"
                       r"Question\s*:|(?:Answer|Sources)\b[^:]{0,60}:\s*(?:\[\d{1,2}\]\s*)*$)")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])(?:\s*\[\d{1,2}\])*\s+(?=[A-Z0-9\"'(])|\n+")
# Abbreviations whose full stop ends no sentence, as the corpus writes them: "Pub. L. 114-255",
# "Technical Report No. 18", "(e.g. tips, tubes)", "approx. 39,600 tablets", "see Fig. 2",
# "Sec. 300.400", "52 Stat. 1049", "Feb. 3, 2003". A dotted acronym ("U.S.", "U.S.C.", "i.e.")
# is one too: "U.S. Department of Commerce". "etc." and a lone capital ("Grade A.", "60–110 N.")
# often do end a sentence, so they still split.
_ABBREVIATION = re.compile(
    r"(?:\b(?:Pub|Pub\.\s?L|Nos?|e\.g|i\.e|approx|ca|cf|Figs?|Sec|Secs|Stat|Dr|Mr|Mrs|Ms|vs|viz|"
    r"Ref|Refs|Vol|Vols|pp|Eq|Eqs|Art|Ch|ch|par|para|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|"
    r"Dec|resp|incl|excl|Ltd|Inc|Corp|Co)|(?<![\w.])(?:[A-Za-z]\.){1,3}[A-Za-z])\.$")
# "No." is the word "no" ending a sentence unless a number or an identifier follows it.
_NUMBER_SIGN = re.compile(r"\bNos?\.$")
# A month, a section or a statute volume goes on only before its number: "Aug. 21, 1997",
# "Sec. 300.400", "52 Stat. 1049" — but "The meeting is in Dec. The firm agreed." is two.
_NUMBERED = re.compile(r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec|Sec|Secs|Stat)\.$")


def _abbreviation_ends(text: str, end: int, following: str) -> bool:
    """The full stop at text[end - 1] closes an abbreviation, not a sentence."""
    before = text[max(0, end - 12):end]
    if not _ABBREVIATION.search(before):
        return False
    if _NUMBER_SIGN.search(before) or re.search(r"\b(?:Ltd|Inc|Corp|Co)\.$", before):
        # "No. 18", "Plot No. A-19/C"; "Sons, Inc. 1995" — but "Ltd. The firm" ends one.
        return bool(re.match(r"\(?[A-Za-z]{0,3}[-/]?\d", following))
    if _NUMBERED.search(before):
        return following[:1].isdigit()
    return True


def split_sentences(text: str) -> list[str]:
    """Sentences, keeping trailing citation markers with the sentence they close; a full stop
    after an abbreviation ("Pub. L.", "No. 18", "e.g.", "approx.", "Fig.") ends none."""
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_SPLIT.finditer(text):
        # A line break always ends a piece; a full stop after an abbreviation does not.
        if ("\n" not in match.group() and "[" not in match.group()
                and text[match.start() - 1:match.start()] == "."
                and _abbreviation_ends(text, match.start(), text[match.end():match.end() + 8])):
            continue
        end = match.start()
        # Citation markers right after the full stop belong to the sentence before.
        trailing = re.match(r"(?:\s*\[\d{1,2}\])+", text[end:match.end()])
        if trailing:
            end += trailing.end()
        pieces.append(text[start:end])
        start = match.end()
    pieces.append(text[start:])
    return [p.strip() for p in pieces if p.strip() and re.search(r"\w", p)]


def _units(passage: str) -> list[str]:
    """Sentences and list items of a passage, each cell of a table row, and each row read
    with its header ("Thickness 3.4 mm to 3.8 mm Test Limit"): a claim about one row is
    close to the row, not to the whole table."""
    units = split_sentences(passage)
    for line in passage.splitlines():
        if line.lstrip().startswith("|"):
            units.extend(cell.strip() for cell in line.strip().strip("|").split("|"))
    units.extend(" ".join(u.replace("|", " ").split()) for u in passage_units(passage)
                 if u.startswith("|"))
    return units


def strip_citations(sentence: str) -> str:
    return " ".join(CITATION.sub(" ", sentence).split())


def critical_terms(text: str) -> set[str]:
    """Codes, tags, ids, numbers and (number, unit) pairs: what must not be invented.

    A set, for callers that compare two texts by difference: "qty:20 h" is missing from a
    passage with "20 min" and "15 h" even though both the number and the unit occur there.
    Numbers are written in one form, so 121 and 121.0 are the same term."""
    text = strip_citations(text)
    terms = {f"code:{c}" for c in codes_in(text)}
    for q in quantities_in(CODE.sub(" ", text)):
        terms.add(f"num:{q.value:g}")
        if q.unit:
            terms.add(f"qty:{q.value:g} {q.unit}")
    return terms


def unsupported_terms(claim: str, cited: str) -> list[str]:
    """The claim's codes and quantities that the cited text does not state: a code absent,
    a number absent, or a number with another unit or the opposite bound ("at most 15 min"
    against "at least 15 min")."""
    claim, cited = strip_citations(claim), strip_citations(cited)
    missing = sorted(codes_in(claim) - codes_in(cited))
    stated = {q.value for q in quantities_in(CODE.sub(" ", cited))}
    for q in unsupported_quantities(CODE.sub(" ", claim), CODE.sub(" ", cited)):
        # A number the passage never states is named alone ("134"); one it states with
        # another unit or bound is named with its own ("20 h", "at most 15 min").
        missing.append(q.text.split()[0] if q.value not in stated else _as_claimed(q))
    return list(dict.fromkeys(missing))


def _as_claimed(q) -> str:
    return {"lower": "at least ", "upper": "at most "}.get(q.bound or "", "") + str(q)


def content_words(text: str) -> set[str]:
    words = {w.lower() for w in _WORD.findall(strip_citations(text))}
    return {_stem(w) for w in words if w not in _STOP and len(w) > 2}


# Words a rewording adds around a value without adding a fact: numbers written out, unit words
# and bounds ("at least 80 degrees Celsius" for "minimum 80 °C", "six times" for "6").
# The quantity check compares the values themselves.
_VALUE_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve fifteen twenty thirty "
    "forty fifty sixty ninety hundred thousand third fourth fifth sixth seventh eighth ninth "
    "tenth twelfth twice half times degree degrees least most minimum maximum within between "
    "below above under over exceed exceeds".split())


def _claim_words(text: str) -> set[str]:
    """The claim's content words that coverage counts: not numbers, units or bounds; a
    synonym of the passage's word counts as its word ("begin" for "start")."""
    words = {w.lower() for w in _WORD.findall(strip_citations(text))}
    return {SYNONYM_STEMS.get(_stem(w), _stem(w)) for w in words
            if w not in _STOP and len(w) > 2 and w not in _VALUE_WORDS
            and canonical_unit(w) is None}


def _passage_words(text: str) -> set[str]:
    """The passage's content words for coverage, the parts of hyphenated words as well
    ("end-of-granulation" holds "granulation"), synonyms as the claim's are."""
    words = content_words(text)
    parts = {p for w in _WORD.findall(strip_citations(text)) if "-" in w
             for p in w.lower().split("-") if len(p) > 2 and p not in _STOP}
    return {SYNONYM_STEMS.get(w, w) for w in words | {_stem(p) for p in parts}}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class PreparedPassages:
    """One answer's passages; each one's sentence vectors are made the first time a sentence
    cites it. A sentence without a citation needs no vector at all, and small models leave
    most sentences uncited, so verifying their drafts costs almost nothing."""

    def __init__(self, passages: list[str], embed: Callable[[list[str]], np.ndarray]) -> None:
        self.passages = passages
        self._embed = embed
        self._vectors: dict[int, np.ndarray] = {}

    def vectors(self, n: int) -> np.ndarray:
        """Vectors of passage n (1-based) as a whole and of its longer sentences and cells."""
        if n not in self._vectors:
            passage = self.passages[n - 1]
            self._vectors[n] = self._embed([passage] + [u for u in _units(passage) if len(u) > 20])
        return self._vectors[n]


@dataclass
class GroundingVerifier:
    embedder: Embedder
    min_similarity: float = 0.55
    min_coverage: float = 0.5
    min_repair_coverage: float = 1.01  # above 1: off (see Settings); 0.9 is a strict setting
    min_repair_words: int = 4  # shorter uncited fragments are never repaired

    @classmethod
    def from_settings(cls, settings, embedder: Embedder) -> GroundingVerifier:
        """The verifier the answers use, with the thresholds in `settings` (a Settings)."""
        return cls(embedder, min_similarity=settings.min_support_similarity,
                   min_coverage=settings.min_support_coverage,
                   min_repair_coverage=settings.min_repair_coverage)

    def prepare(self, passages: list[str]) -> PreparedPassages:
        """The passages to verify one answer's sentences against (embedded lazily)."""
        return PreparedPassages(passages, self.embedder.embed)

    def verify(self, answer: str, passages: list[str] | PreparedPassages) -> list[SentenceCheck]:
        """Judge each sentence of `answer` against the passages it cites (1-based)."""
        prepared = passages if isinstance(passages, PreparedPassages) else self.prepare(passages)
        return [self._judge(sentence, strip_citations(sentence),
                            sorted({int(n) for n in CITATION.findall(sentence)}), prepared)
                for sentence in split_sentences(answer)]

    def _judge(self, sentence: str, clean: str, cited: list[int],
               prepared: PreparedPassages) -> SentenceCheck:
        passages = prepared.passages
        verdict = SentenceCheck(text=sentence, citations=cited, supported=False)
        if _SCAFFOLD.match(sentence):
            verdict.scaffold = True
            verdict.reason = "echo of the prompt, not a claim"
            return verdict
        if not cited:
            source = self._copied_from(clean, prepared)
            if source is None:
                verdict.reason = "no citation"
                return verdict
            cited = verdict.citations = [source]
            verdict.citation_added = True
        if any(n < 1 or n > len(passages) for n in cited):
            verdict.reason = "cites a source that does not exist"
            return verdict
        if len(clean) < 3:
            verdict.reason = "empty sentence"
            return verdict
        cited_text = "\n".join(passages[n - 1] for n in cited)
        vector = self.embedder.embed([clean])[0]
        verdict.similarity = max(float((prepared.vectors(n) @ vector).max()) for n in cited)
        words = _claim_words(clean)
        present = _passage_words(cited_text)
        verdict.coverage = len(words & present) / len(words) if words else 1.0
        verdict.missing_terms = unsupported_terms(clean, cited_text)
        mismatches = check_claim(clean, cited_text) if not verdict.missing_terms else []
        if verdict.missing_terms:
            verdict.reason = f"not in the cited passage: {', '.join(verdict.missing_terms)}"
        elif mismatches:
            verdict.reason = "; ".join(mismatches)
        elif verdict.similarity < self.min_similarity:
            verdict.reason = f"weak support (similarity {verdict.similarity:.2f})"
        elif verdict.coverage < self.min_coverage:
            verdict.reason = f"weak support (word coverage {verdict.coverage:.2f})"
        else:
            verdict.supported = True
            verdict.reason = ("supported (citation added: copied from source "
                              f"[{cited[0]}])" if verdict.citation_added else "supported")
        return verdict

    def _copied_from(self, clean: str, prepared: PreparedPassages) -> int | None:
        """The 1-based source an uncited sentence was copied from nearly word for word, if
        exactly that is the case; the usual similarity and critical-term checks follow."""
        words = content_words(clean)
        if len(words) < self.min_repair_words:
            return None
        best, best_coverage = None, 0.0
        for n, passage in enumerate(prepared.passages, start=1):
            coverage = len(words & content_words(passage)) / len(words)
            if (coverage >= self.min_repair_coverage and coverage > best_coverage
                    and not unsupported_terms(clean, passage)):
                best, best_coverage = n, coverage
        return best


__all__ = ["GroundingVerifier", "SentenceCheck", "codes_in", "content_words",
           "critical_terms", "split_sentences", "strip_citations", "unsupported_terms"]
