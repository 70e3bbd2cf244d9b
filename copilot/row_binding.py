"""Row and clause binding: a code, a value or a word the passage has, bound to the wrong item.

The presence checks ask whether each code and (number, unit) of a claim occurs in the cited
passage; a claim that moves one to another row of a table, another list item or another
quantity of the same sentence passes them ("Alarm A-12 means the lubrication pressure is low"
where the A-12 row says feeder motor overload and the lubrication row is A-09; "the target
force is 16 kN, alarm above 12 kN" for "target 12 kN, alarm above 16 kN"). Each check here
finds the item the claim names and asks that its other content comes from that item:

  * code binding: the rows (or list items, sentences) that hold a code the claim names must
    support the claim's words and values; another row that supports them better is the one
    the claim describes;
  * subject binding: a value's subject is the words right before it (in a table cell, also
    the row's first cell and the column's header). A claim value whose subject matches the
    subject of another value of the same kind better than any subject the claim value has in
    the passage is bound to the wrong quantity;
  * pair binding: two values stated together ("29 /m³ at 5.0 µm", "20–25 °C for 3 days")
    must be paired so in the passage, not cross-paired;
  * cell binding: a word that is a whole cell of another row ("Annually"), put in the claim's
    row in place of that row's own cell ("Every 6 months").

Every reason starts with "value or code bound to another row".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge import CODE, codes_in

from .quantities import Quantity, canonical_unit, compatible, dimension, quantities_in

REASON = "value or code bound to another row"

_GLUE_WORDS = frozenset(
    "a an the and or but so then also that this these those it its is are be been being was "
    "were to of in on at by for from with as if when while which who whom whose what where "
    "there their they them you your we our he she his her i me my has have had do does did "
    "done will would should shall must may can could might need needs per than such each every "
    "all any one only very just here into onto upon until about via e.g i.e etc means mean "
    "meaning called namely because since therefore thus hence although though however "
    # bounds and comparisons: the quantity check compares them
    "above below under over least most less more within maximum minimum max min not no exceed "
    "exceeds up between plus minus approximately approx about around "
    "is are".split())
_TOKEN = re.compile(r"[A-Za-zµ][A-Za-z0-9'’-]*")
_PIECE_SPLIT = re.compile(r"[;,:](?=\s)|\s[–—]\s|\.\s|\sand\s|\sthen\s|\sor\s")


def _stem(word: str) -> str:
    word = word.lower().strip("'’")
    for suffix in ("ations", "ation", "ings", "ing", "edly", "ied", "ies", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)][:7]
    return word[:7]


def words(text: str) -> set[str]:
    """Stems of the content words of `text`; single capital letters after a word count
    ("Grade B", "Class C"), units, numbers and bound words do not."""
    out: set[str] = set()
    previous = None
    for m in _TOKEN.finditer(text):
        raw = m.group(0)
        low = raw.lower()
        if len(raw) == 1:
            before = text[:m.start()].rstrip()
            if before[-1:].isdigit() or before[-1:] in ("°", "º"):  # "121 °C", "5 A"
                pass
            elif raw.isupper() and previous is not None and raw not in ("A", "I") or (
                    raw == "A" and previous in ("grade", "class", "zone", "type")):
                out.add(low)
        elif low not in _GLUE_WORDS and canonical_unit(raw) is None:
            out.add(_stem(low))
        previous = low
    return out


def _known(word: str, pool: set[str]) -> bool:
    return word in pool or len(word) >= 5 and any(w[:5] == word[:5] for w in pool if len(w) >= 5)


def _overlap(a: set[str], b: set[str]) -> int:
    return sum(1 for w in a if _known(w, b))


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]


def tables(passage: str) -> list[Table]:
    out: list[Table] = []
    current: Table | None = None
    for line in passage.splitlines():
        stripped = line.strip()
        if not stripped.startswith("|"):
            current = None
            continue
        if re.fullmatch(r"[\s|:-]+", stripped):
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if current is None:
            current = Table(cells, [])
            out.append(current)
        else:
            current.rows.append(cells)
    return out


@dataclass
class Bound:
    """A value of the passage or the claim with its subject words."""
    quantity: Quantity
    subject: set[str] = field(default_factory=set)
    clause: set[str] = field(default_factory=set)  # all words of its clause (and context)
    # The value it took its subject from ("10 kN to 16 kN", "2.0 L per 100 L"), if any.
    leader: Quantity | None = None


def _bind_piece(piece: str, context: set[str]) -> list[Bound]:
    out: list[Bound] = []
    previous_end, previous_subject = 0, set[str]()
    previous: Quantity | None = None
    clause = words(piece) | context
    for q in quantities_in(piece):
        own = words(piece[previous_end:q.start])
        subject = own or previous_subject or set()
        leader = None if own else previous
        if q.unit:  # "6 replicate injections": a count, the subject goes on past it
            previous_end, previous_subject = q.end, subject
            previous = leader or q
        out.append(Bound(q, subject | context, clause, leader))
    return out


def _pieces(text: str) -> list[str]:
    return [p for p in _PIECE_SPLIT.split(text) if p and p.strip()]


def passage_bounds(passage: str) -> list[Bound]:
    """Every value of the passage with its subject: the words before it in its clause and,
    in a table, the row's first cell and the column's header."""
    passage = CODE.sub(" ", passage)
    out: list[Bound] = []
    for table in tables(passage):
        head = [words(h) for h in table.header]
        for row in table.rows:
            key = words(row[0]) if row else set()
            for j, cell in enumerate(row):
                context = key | (head[j] if j < len(head) else set())
                for piece in _pieces(cell):
                    out.extend(_bind_piece(piece, context))
    text = "\n".join(line for line in passage.splitlines() if not line.strip().startswith("|"))
    for piece in _pieces(text.replace("\n", " . ")):
        out.extend(_bind_piece(piece, set()))
    return out


def claim_bounds(claim: str) -> list[Bound]:
    claim = CODE.sub(" ", claim)
    return [b for piece in _pieces(claim) for b in _bind_piece(piece, set())]


def _subject_binding(claim: str, passage: str) -> list[str]:
    stated = passage_bounds(passage)
    bounds = [b for b in claim_bounds(claim) if b.quantity.unit and b.subject]

    def own_support(bound: Bound) -> int:
        """How well the passage binds the claim's value to the claim's subject, by subject."""
        return max((_overlap(bound.subject, s.subject) for s in stated
                    if compatible(bound.quantity, s.quantity)), default=-1)

    # Claim values the passage states for the subject the claim gives them.
    well_bound = [b.quantity for b in bounds if own_support(b) >= max(1, len(b.subject) // 2)]
    out = []
    for bound in bounds:
        q, subject = bound.quantity, bound.subject
        rivals = [(_overlap(subject, s.subject), s) for s in stated
                  if s.quantity.unit and dimension(s.quantity.unit) == dimension(q.unit)
                  and not compatible(q, s.quantity)
                  and abs(s.quantity.value - q.value) > 1e-9
                  and not (bound.leader and compatible(bound.leader, s.quantity))
                  # the claim states that value too, for the subject the passage gives it
                  and not any(compatible(w, s.quantity) for w in well_bound)]
        # A value's own clause supports it with any of its words ("at 1,000 Pa test pressure").
        support = max((_overlap(subject, s.clause) for s in stated if compatible(q, s.quantity)),
                      default=-1)
        if support < 0 or not rivals:
            continue  # an absent value is the presence check's
        best, rival = max(rivals, key=lambda r: r[0])
        if best >= 2 and best > support:
            out.append(f"{REASON}: {q} where the passage gives {rival.quantity} for "
                       f"{' '.join(sorted(subject))}")
    return out


_PAIR_GAP = re.compile(r"^[\s()/m³²a-zA-Z]*$")
_PAIR_LINK = frozenset("at for of in per during over to m".split())


def _pairs(text: str) -> list[tuple[Quantity, Quantity]]:
    """Values stated together: two values of different kinds with only linking words ("at",
    "for at least", "/m³ (") between them."""
    text = CODE.sub(" ", text)
    out = []
    for piece in re.split(r"[;|\n]|,(?=\s)|\sand\s|\sor\s|\sthen\s|\.\s", text):
        found = quantities_in(piece)
        for a, b in zip(found, found[1:], strict=False):
            gap = piece[a.end:b.start]
            gap_words = [t.lower() for t in re.findall(r"[A-Za-z]+", gap)]
            if (dimension(a.unit) != dimension(b.unit) and (a.unit or b.unit)
                    and len(gap) <= 16 and _PAIR_GAP.match(gap)
                    and all(w in _PAIR_LINK or w in ("least", "most", "than", "less", "more",
                                                     "not", "no") for w in gap_words)):
                out.append((a, b))
    return out


def _pair_binding(claim: str, passage: str) -> list[str]:
    stated = _pairs(passage)
    out = []
    for a, b in _pairs(claim):
        if any(compatible(a, x) and compatible(b, y) for x, y in stated):
            continue
        # Cross-paired both ways: a goes with another b, and b with another a.
        with_a = [(x, y) for x, y in stated if compatible(a, x)
                  and dimension(y.unit) == dimension(b.unit) and not compatible(b, y)]
        with_b = [(x, y) for x, y in stated if compatible(b, y)
                  and dimension(x.unit) == dimension(a.unit) and not compatible(a, x)]
        if with_a and with_b:
            x, y = with_a[0]
            out.append(f"{REASON}: {a} with {b} where the passage pairs {x} with {y}")
    return out


def _units(passage: str) -> list[tuple[str, int | None, str]]:
    """(text, table index or None, header text) for each table row, list item and sentence."""
    from .claim_checks import passage_units  # late: claim_checks imports this module

    out: list[tuple[str, int | None, str]] = []
    for t, table in enumerate(tables(passage)):
        header = " ".join(table.header)
        out.extend((" | ".join(row), t, header) for row in table.rows)
    out.extend((u, None, "") for u in passage_units(passage) if not u.startswith("|"))
    return out


def _code_binding(claim: str, passage: str) -> list[str]:
    codes = {c for c in codes_in(claim) if c in codes_in(passage)}
    if not codes:
        return []
    units = _units(passage)
    # A code names a row when it is the row's first cell ("| A-12 | ..."); one that a row only
    # refers to ("per SOP-PRD-004") names nothing. Sentences that hold it add their words.
    keyed = [u for u in units if u[1] is not None and codes & codes_in(u[0].split(" | ")[0])]
    if not keyed:
        return []
    keyed += [u for u in units if u[1] is None and codes & codes_in(u[0])]
    prose = set().union(*(words(CODE.sub(" ", u[0])) for u in units if u[1] is None))
    prose_quantities = [q for u in units if u[1] is None for q in quantities_in(CODE.sub(" ", u[0]))]
    header_words = set().union(*(words(u[2]) for u in keyed))
    claim_words = words(CODE.sub(" ", claim)) - header_words
    key_words = set().union(*(words(CODE.sub(" ", u[0])) for u in keyed))
    covered = {w for w in claim_words if _known(w, key_words)}
    missing = {w for w in claim_words - covered if not _known(w, prose)}
    # Only table rows have siblings that a code selects among: a sentence that names a code
    # may well be continued by the next one.
    kinds = {u[1] for u in keyed} - {None}
    siblings = [u for u in units if u not in keyed and u[1] in kinds
                and not codes_in(u[0]) & codes and codes_in(u[0].split(" | ")[0])]
    out = []
    best = None
    for sibling in siblings:
        sibling_words = words(CODE.sub(" ", sibling[0]))
        hits = {w for w in missing if _known(w, sibling_words)}
        score = _overlap(claim_words, sibling_words)
        if hits and score > len(covered) and (best is None or score > best[0]):
            best = (score, sibling, hits)
    if best is not None:
        out.append(f"{REASON}: {', '.join(sorted(codes))} is not the row that says "
                   f"{' '.join(sorted(best[2]))}: \"{best[1][0][:90]}\"")
    # A value of the claim that the code's rows do not state but another row does.
    key_quantities = [q for u in keyed for q in quantities_in(CODE.sub(" ", u[0]))]
    for q in quantities_in(CODE.sub(" ", claim)):
        if q.unit is None or any(compatible(q, s) for s in key_quantities + prose_quantities):
            continue
        if not any(dimension(s.unit) == dimension(q.unit) for s in key_quantities):
            continue
        elsewhere = [s for s in siblings
                     if any(compatible(q, x) for x in quantities_in(CODE.sub(" ", s[0])))]
        if elsewhere:
            out.append(f"{REASON}: {q} is stated for another row than {', '.join(sorted(codes))}"
                       f": \"{elsewhere[0][0][:90]}\"")
    return out


def _cell_binding(claim: str, passage: str) -> list[str]:
    claim_text = CODE.sub(" ", claim)
    claim_quantities = quantities_in(claim_text)
    out = []
    prose = words("\n".join(line for line in CODE.sub(" ", passage).splitlines()
                             if not line.strip().startswith("|")))
    for table in tables(CODE.sub(" ", passage)):
        header_words = set().union(*(words(h) for h in table.header))
        claim_words = words(claim_text) - header_words
        if not claim_words or len(table.rows) < 2:
            continue
        cells = [[words(c) for c in row] for row in table.rows]
        scores = [_overlap(claim_words, set().union(*row)) for row in cells]
        top = max(scores)
        # The row the claim is about: it holds most of the claim's words, no other as many.
        if top < 2 or scores.count(top) > 1 or top < 0.5 * len(claim_words):
            continue
        r = scores.index(top)
        row_words = set().union(*cells[r])
        for w in sorted(claim_words):
            if _known(w, row_words) or _known(w, prose):
                continue
            for i, other in enumerate(cells):
                if i == r:
                    continue
                for j, cell in enumerate(other):
                    if j >= len(cells[r]) or w not in cell:
                        continue
                    own = cells[r][j]
                    own_text = table.rows[r][j]
                    if (cell and all(_known(x, claim_words) for x in cell)
                            and (own or quantities_in(own_text))
                            and not any(_known(x, claim_words) for x in own)
                            and not any(compatible(q, s) for q in claim_quantities
                                        for s in quantities_in(own_text))):
                        out.append(f"{REASON}: \"{table.rows[i][j][:40]}\" where the row "
                                   f"\"{table.rows[r][0][:40]}\" says \"{own_text[:40]}\"")
    return out


def check_binding(claim: str, passage: str) -> list[str]:
    """Reasons why a code or value of `claim` belongs to another row, item or quantity of
    `passage` than the one the claim binds it to; empty when none does."""
    reasons = (_code_binding(claim, passage) + _subject_binding(claim, passage)
               + _pair_binding(claim, passage) + _cell_binding(claim, passage))
    return list(dict.fromkeys(reasons))


__all__ = ["REASON", "check_binding", "claim_bounds", "passage_bounds", "tables", "words"]
