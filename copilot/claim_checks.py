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

from knowledge import CODE

from .quantities import Quantity, compatible, quantities_in

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'’-]*")
_CLAUSE_SPLIT = re.compile(r"(?<!\d)[;:,](?!\d)|\s[–—]\s|\(|\)|\.\s|\|")
_NEGATION = frozenset("not no never none nothing neither nor without cannot can't don't "
                      "doesn't didn't isn't aren't wasn't weren't won't shouldn't mustn't "
                      "needn't hasn't haven't non".split())
_PERMIT = frozenset("may can could allowed permitted optional capable able possible "
                    "acceptable".split())
_OBLIGE = frozenset("must shall required requires require mandatory always need needs "
                    "have has".split())
_UNIVERSAL = frozenset("all every each any always whole entire full both".split())
_PARTIAL = frozenset("some several few part partly partially sometimes occasionally certain "
                     "most many numerous portion".split())
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
             ("minimum", "maximum"), ("earliest", "latest"), ("tolerate", "not"),
             ("empty", "full"), ("tolerates", "not")]
_OPPOSITE = {}
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
                  "after about via e.g i.e etc means mean meaning called namely first".split())


def tokens(text: str) -> list[str]:
    return [t.lower().replace("’", "'") for t in _TOKEN.findall(text)]


def stem(word: str) -> str:
    word = word.lower().strip("'")
    for suffix in ("ations", "ation", "ings", "ing", "edly", "ied", "ies", "ed", "es", "ly",
                   "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)][:7]
    return word[:7]


def _content(text: str) -> set[str]:
    return {stem(t) for t in tokens(text) if t not in _GLUE and len(t) > 1}


@dataclass
class Clause:
    text: str
    words: set[str]  # stems of content words
    raw: list[str]  # lower-cased tokens

    @property
    def negated(self) -> bool:
        return any(t in _NEGATION or t.endswith("n't") for t in self.raw)

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
        out = set()
        if any(t in _UNIVERSAL for t in self.raw):
            out.add("universal")
        if any(t in _PARTIAL for t in self.raw) or "a few" in " ".join(self.raw):
            out.add("partial")
        if "only" in self.raw:
            out.add("only")
        return out


def clauses(text: str) -> list[Clause]:
    parts = [p.strip() for p in _CLAUSE_SPLIT.split(text) if p and p.strip()]
    # "and"/"then" join steps; a clause per step keeps an added step visible.
    out = []
    for part in parts:
        for piece in re.split(r"\s(?:and then|then|and|but|or else)\s(?=[a-z])", part):
            if re.search(r"[A-Za-z]", piece):
                out.append(Clause(piece, _content(piece), tokens(piece)))
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


def _align(clause: Clause, candidates: list[Clause], context: set[str]) -> Clause | None:
    """The passage clause sharing most words with `clause` (the claim sentence breaks ties)."""
    best, best_score = None, 0.0
    for cand in candidates:
        score = 2 * len(clause.words & cand.words) + 0.5 * len(context & cand.words)
        if score > best_score:
            best, best_score = cand, score
    return best if best and clause.words & best.words else None


def _without_codes(text: str) -> str:
    return CODE.sub(" ", text)


def check_claim(claim: str, passage: str) -> list[str]:
    """Reasons why `claim` (one sentence, citations stripped) is not what `passage` says."""
    reasons: list[str] = []
    units = passage_units(passage)
    unit_clauses = [clauses(u) for u in units]
    all_clauses = [c for cs in unit_clauses for c in cs]
    passage_words = _content(passage)
    sentence_words = _content(claim)
    for clause in clauses(claim):
        aligned = _align(clause, all_clauses, sentence_words)
        novel = {w for w in clause.words if w not in passage_words}
        roles = sorted(t for t in clause.raw if t in ROLES and stem(t) in novel)
        if roles:
            reasons.append(f"names someone the passage does not: {', '.join(roles)}")
        if len(novel) >= 2:
            reasons.append(f"a step or detail not in the cited passage: "
                           f"{', '.join(sorted(novel))}")
        if aligned is None:
            continue
        reasons.extend(_compare(clause, aligned))
    reasons.extend(_recombined(claim, units))
    return list(dict.fromkeys(reasons))


def _compare(clause: Clause, source: Clause) -> list[str]:
    out = []
    if clause.negated != source.negated:
        out.append(f"negation differs from the passage: \"{source.text}\"")
    claim_mode, source_mode = clause.modality, source.modality
    if claim_mode != source_mode and "permit" in (claim_mode, source_mode) or \
            claim_mode == "free" and source_mode != "free":
        out.append(f"modality differs from the passage ({claim_mode} vs {source_mode}): "
                   f"\"{source.text}\"")
    added = clause.quantifiers() - source.quantifiers()
    if added and not (clause.quantifiers() & source.quantifiers() and "only" not in added):
        out.append(f"quantifier not in the passage ({', '.join(sorted(added))}): "
                   f"\"{source.text}\"")
    swapped = sorted(w for w in set(clause.raw) - set(source.raw)
                     if _OPPOSITE.get(w, set()) & set(source.raw))
    if swapped:
        out.append(f"says {', '.join(swapped)} where the passage says "
                   f"{', '.join(sorted(set().union(*(_OPPOSITE[w] for w in swapped)) & set(source.raw)))}")
    return out


def _recombined(claim: str, units: list[str]) -> list[str]:
    """Quantities stated together in one claim clause must be stated together in one passage
    unit, the unit that matches the clause best: "hardness every 2 h" is wrong when the 2 h
    is the friability interval."""
    out = []
    unit_quantities = [quantities_in(_without_codes(u)) for u in units]
    unit_words = [_content(u) for u in units]
    claim_words = _content(claim)
    for clause in clauses(_without_codes(claim)):
        wanted = quantities_in(clause.text)
        if not wanted:
            continue
        holding = [i for i, qs in enumerate(unit_quantities)
                   if all(any(compatible(q, s) for s in qs) for q in wanted)]
        if not holding:
            if len(wanted) > 1 and all(any(compatible(q, s) for qs in unit_quantities for s in qs)
                                       for q in wanted):
                out.append(f"values stated for different items in the passage: "
                           f"{', '.join(str(q) for q in wanted)}")
            continue
        score = [2 * len(clause.words & w) + len(claim_words & w) for w in unit_words]
        if max(score[i] for i in holding) < max(score):
            best = max(range(len(units)), key=lambda i: score[i])
            out.append(f"{', '.join(str(q) for q in wanted)} is stated for another item "
                       f"in the passage (\"{units[best][:80]}\" says otherwise)")
    return out


__all__ = ["ROLES", "check_claim", "clauses", "passage_units", "stem", "tokens", "Quantity"]
