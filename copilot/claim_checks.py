"""Checks of one claim against the one passage it cites, for the small edits that keep a
sentence's meaning vector close to its source: a dropped or added "not", "may" for "must",
"some" for "every", "at least" for "at most", the supervisor for the operator, the clean side
for the loading side, a step the passage does not have, and a value moved to another item.

Embedding similarity cannot see these (a negated step is nearly as close to its source as
the step itself), so each claim clause is aligned with the passage clause that shares the
most words with it, and the two are compared on the features a single edit changes. Every
check returns reasons as strings, empty when the claim passes; the grounding verifier puts
them on the sentence's verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

from knowledge import CODE

from .quantities import Quantity, canonical_unit, compatible, dimension, quantities_in

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")
_CLAUSE_SPLIT = re.compile(r"[;:,](?=\s)|(?<!\d)[;:,](?!\d)|\s[–—]\s|\.\s|\|")
# "failed to correct" negates as "did not correct" does.
_FAILED_TO = re.compile(r"\bfail(?:s|ed)? to\b")
_NEGATION = frozenset("not no never none nothing neither nor without cannot can't don't "
                      "doesn't didn't isn't aren't wasn't weren't won't shouldn't mustn't "
                      "needn't hasn't haven't non".split())
_PERMIT = frozenset("may can could allowed permitted optional capable able possible "
                    "acceptable".split())
_OBLIGE = frozenset("must shall required requires require mandatory always need needs "
                    "have has".split())
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


def tokens(text: str) -> list[str]:
    out = []
    for t in _TOKEN.findall(text):
        t = t.lower().replace("’", "'")
        out.append(t)
        if "-" in t.strip("-"):  # "same-day", "top-opened": the parts are words too
            out.extend(p for p in t.split("-") if p)
    return out


def stem(word: str) -> str:
    word = word.lower().strip("'")
    for suffix in ("ations", "ation", "ings", "ing", "edly", "ied", "ies", "ed", "es", "ly",
                   "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)][:7]
    return word[:7]


def _content(text: str) -> set[str]:
    # Unit words are not content: "minutes" and "min" are the quantity check's business.
    return {stem(t) for t in tokens(text)
            if t not in _GLUE and len(t) > 1 and canonical_unit(t) is None}


def _known(word: str, words: set[str]) -> bool:
    """`word` or a word of the same family ("exposes"/"exposure": one prefix of 5 letters)."""
    return word in words or len(word) >= 5 and any(w[:5] == word[:5] for w in words
                                                   if len(w) >= 5)


@dataclass
class Clause:
    text: str
    words: set[str]  # stems of content words
    raw: list[str]  # lower-cased tokens

    @property
    def negated(self) -> bool:
        return (any(t in _NEGATION or t.endswith("n't") for t in self.raw)
                or bool(_FAILED_TO.search(" ".join(self.raw))))

    @property
    def modality(self) -> str:
        raw = self.raw
        joined = " ".join(raw)
        if re.search(r"\b(?:need not|needn't|not required|not necessary|does not need|"
                     r"do not need|optional)\b", joined):
            return "free"
        if any(t in _PERMIT for t in raw):
            return "permit"
        return "oblige" if any(t in _OBLIGE for t in raw) else "plain"

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
    for part in parts:
        for piece in re.split(r"\s(?:and then|then|and|but|or else)\s(?=[a-z])", part):
            if not re.search(r"[A-Za-z]", piece):
                continue
            words = _content(piece)
            # A fragment of one word ("before", "after each incubation") says nothing alone.
            if out and len(words) < 2:
                last = out.pop()
                piece = f"{last.text} {piece}"
                words = last.words | words
            out.append(Clause(piece, words, tokens(piece)))
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
    flush()
    return units


def _dice(a: set[str], b: set[str]) -> float:
    return 2 * len(a & b) / (len(a) + len(b)) if a and b else 0.0


def _align(clause: Clause, candidates: list[tuple[Clause, set[str]]],
           context: set[str]) -> tuple[Clause, set[str]] | None:
    """The passage clause most like `clause` (Dice over content words; the claim sentence
    breaks ties), with the words of the unit it belongs to. None when the best is weak: an
    unaligned clause is judged by the word and similarity checks alone."""
    best, best_score = None, 0.0
    for cand, unit in candidates:
        score = _dice(clause.words, cand.words) + 0.1 * _dice(context, unit)
        if score > best_score:
            best, best_score = (cand, unit), score
    if best is None:
        return None
    shared = len(clause.words & best[0].words)
    return best if shared >= 2 or shared and shared >= 0.5 * len(clause.words) else None


def _without_codes(text: str) -> str:
    return CODE.sub(" ", text)


# Names: acronyms and capitalised words inside a sentence ("OSCS", "Robbins", "LB").
_NAME = re.compile(r"(?<=[a-z,;]\s)[A-Z][A-Za-z0-9]+|\b[A-Z]{2,}[0-9]*\b")


def check_claim(claim: str, passage: str) -> list[str]:
    """Reasons why `claim` (one sentence, citations stripped) is not what `passage` says."""
    reasons: list[str] = []
    passage = _without_codes(passage)  # "SOP-QA-009" does not mention QA; codes are checked apart
    units = passage_units(passage)
    candidates = [(c, _content(u) | set(tokens(u))) for u in units for c in clauses(u)]
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
    for clause in claim_clauses:
        novel = {w for w in clause.words if not _known(w, passage_words)}
        roles = sorted(t for t in clause.raw if t in ROLES and stem(t) in novel)
        if roles:
            reasons.append(f"names someone the passage does not: {', '.join(roles)}")
        if len(novel) >= 2:
            reasons.append(f"a step or detail not in the cited passage: "
                           f"{', '.join(sorted(novel))}")
        elif novel and clause is not first and _leading_word(clause) in novel:
            # "..., inform the supervisor and replace the door seals": a new action.
            reasons.append(f"a step not in the cited passage: \"{clause.text[:60]}\"")
        aligned = _align(clause, candidates, sentence_words)
        if aligned is not None:
            reasons.extend(_compare(clause, *aligned, novel))
    reasons.extend(_recombined(claim, units))
    return list(dict.fromkeys(reasons))


def _leading_word(clause: Clause) -> str | None:
    for t in clause.raw:
        if t not in _GLUE and len(t) > 1 and t not in ("most", "least"):  # "at most 4 L"
            return stem(t)
    return None


def _comparable(word: str) -> bool:
    """Words a substitution check looks at: not numbers or codes (checked as quantities and
    codes), not negations or modals (checked as such), not units."""
    return (word not in _GLUE and len(word) > 1 and not any(ch.isdigit() for ch in word)
            and word not in _NEGATION and not word.endswith("n't") and word not in _PERMIT
            and word not in _OBLIGE and canonical_unit(word) is None)


def _spelling_variant(a: str, b: str) -> bool:
    """"seperately"/"separately", "sterilise"/"sterilize": one word, spelt two ways."""
    return SequenceMatcher(a=a, b=b).ratio() >= 0.75


def _compare(clause: Clause, source: Clause, unit: set[str], novel: set[str]) -> list[str]:
    out = []
    quote = f"\"{source.text[:90]}\""
    if clause.negated != source.negated:
        out.append(f"negation differs from the passage: {quote}")
    claim_mode, source_mode = clause.modality, source.modality
    if claim_mode != source_mode and ("permit" in (claim_mode, source_mode)
                                      or "free" in (claim_mode, source_mode)):
        out.append(f"modality differs from the passage ({claim_mode} vs {source_mode}): {quote}")
    # "every"/"all" elsewhere in the sentence covers a paraphrase's "each day"; a "some" or
    # "once" must be in the clause it stands for.
    added = clause.quantifiers() - source.quantifiers()
    if "universal" in added and Clause("", set(), sorted(unit)).quantifiers() & {"universal"}:
        added.discard("universal")
    if added:
        out.append(f"quantifier not in the passage ({', '.join(sorted(added))}): {quote}")
    raw, source_raw = set(clause.raw), set(source.raw)
    swapped = sorted(w for w in raw - unit
                     if (_OPPOSITE.get(w, set()) & source_raw) - raw)
    if swapped:
        opposite = sorted(set().union(*(_OPPOSITE[w] for w in swapped)) & source_raw)
        out.append(f"says {', '.join(swapped)} where the passage says {', '.join(opposite)}")
    out.extend(_substituted(clause, source, unit))
    return out


def _substituted(clause: Clause, source: Clause, unit: set[str]) -> list[str]:
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
        mine = [w for w in a[i1:i2] if not _known(w, unit) and w not in b]
        theirs = [w for w in b[j1:j2] if w not in a]
        if all(_spelling_variant(x, y) for x in mine for y in theirs):
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
    candidates = [(c, _content(u) | {f"\0row{i}"} | ({"\0table"} if u.startswith("|") else set()))
                  for i, u in enumerate(units) for c in clauses(_without_codes(u))]
    unit_quantities = [quantities_in(_without_codes(u)) for u in units]
    claim_words = _content(claim)
    for clause in clauses(_without_codes(claim)):
        wanted = quantities_in(clause.text)
        if not wanted:
            continue
        if len(wanted) > 1 and not any(all(any(compatible(q, s) for s in qs) for q in wanted)
                                       for qs in unit_quantities):
            out.append("values stated for different items in the passage: "
                       + ", ".join(str(q) for q in wanted))
            continue
        aligned = _align(clause, candidates, claim_words)
        if aligned is None:
            continue
        stated = quantities_in(aligned[0].text)
        row = next(int(w[4:]) for w in aligned[1] if w.startswith("\0row"))
        # The cells of a table row describe one item; the clauses of a sentence may not.
        scope = unit_quantities[row] if "\0table" in aligned[1] else stated
        for q in wanted:
            rivals = [s for s in stated if dimension(s.unit) == dimension(q.unit)]
            if rivals and not any(compatible(q, s) for s in scope):
                out.append(f"{q} where the passage says {', '.join(str(s) for s in rivals)}: "
                           f"\"{aligned[0].text[:90]}\"")
    return out


__all__ = ["ROLES", "check_claim", "clauses", "passage_units", "stem", "tokens", "Quantity"]
