"""Automatic checks of generated items against the document they cite.

Independent of how an item was made (deterministic or model-written): each check reads only
the item and the document. An item passes when its quote is verbatim in the cited revision,
the quote supports the key, no distractor is also right according to the document, and it
does not repeat another item. Rejected items keep the reason, for the trainer to see.
"""

from __future__ import annotations

from knowledge import Document, section_spans

from .generator import BLANK, LETTERS
from .items import QuizItem, RejectedItem
from .text import cue_lines, mentions, normalise, number_of, too_similar


def validate(items: list[QuizItem], doc: Document) -> tuple[list[QuizItem], list[RejectedItem]]:
    accepted: list[QuizItem] = []
    rejected: list[RejectedItem] = []
    seen: dict[tuple[str, str], str] = {}
    sections = {name for name, _, _ in section_spans(doc.text)}
    for item in items:
        reason = problem(item, doc, sections)
        if reason is None:
            signature = (item.type, normalise(item.stem))
            if signature in seen:
                reason = f"duplicate of item {seen[signature]}"
            else:
                seen[signature] = item.item_id
        if reason is None:
            accepted.append(item)
        else:
            rejected.append(RejectedItem(item=item, reason=reason))
    return accepted, rejected


def problem(item: QuizItem, doc: Document, sections: set[str] | None = None) -> str | None:
    """Why the item is not supported by `doc`, or None when it is."""
    if (item.doc_id, item.revision) != (doc.doc_id, doc.revision):
        return f"cites {item.doc_id} rev {item.revision}, checked against {doc.key}"
    if not item.stem.strip():
        return "empty stem"
    if not item.quote.strip() or item.quote not in doc.text:
        return "the quote is not verbatim in the document"
    if item.quote_start >= 0 and doc.text[item.quote_start:item.quote_start + len(item.quote)] \
            != item.quote:
        return "the quote is not at the cited position"
    if sections is None:
        sections = {name for name, _, _ in section_spans(doc.text)}
    if item.section not in sections:
        return f"section {item.section!r} is not in the document"
    check = {"multiple_choice": _choice, "scenario": _choice, "true_false": _true_false,
             "numeric": _numeric, "ordering": _ordering}[item.type]
    return check(item, doc)


def _cue_lines(item: QuizItem, doc: Document) -> list[str]:
    """Lines of the document that state the asked-about thing (all cue parts present)."""
    return cue_lines(doc.text, item.cue) or [item.quote]


def _choice(item: QuizItem, doc: Document) -> str | None:
    options = [normalise(o) for o in item.options]
    if len(options) < 3:
        return f"only {len(options)} options"
    if len(set(options)) != len(options):
        return "two options are the same"
    if item.key not in item.options:
        return "the key is not among the options"
    if not mentions(item.quote, item.key):
        return f"the quote does not contain the key {item.key!r}"
    lines = _cue_lines(item, doc)
    for option in item.options:
        if option == item.key:
            continue
        if mentions(item.quote, option):
            return f"distractor {option!r} is in the quote, so it may also be correct"
        if too_similar(option, item.key) and number_of(option) == number_of(item.key):
            return f"distractor {option!r} says nearly the same as the key"
        for line in lines:
            if mentions(line, option):
                return (f"distractor {option!r} is also stated for "
                        f"{' / '.join(item.cue)!r} in the document: {line.strip()[:120]!r}")
    return None


def _true_false(item: QuizItem, doc: Document) -> str | None:
    if item.options != ["True", "False"] or item.key not in ("True", "False"):
        return "true/false item without True/False options and key"
    if not item.fact or not mentions(item.quote, item.fact):
        return f"the quote does not contain the stated fact {item.fact!r}"
    if not mentions(item.stem, item.claim):
        return "the statement does not show the claimed value"
    same = normalise(item.claim) == normalise(item.fact)
    if (item.key == "True") != same:
        return "the key does not follow from the quote"
    if item.key == "False":
        for line in _cue_lines(item, doc):
            if mentions(line, item.claim):
                return (f"the false claim {item.claim!r} is stated for "
                        f"{' / '.join(item.cue)!r} in the document: {line.strip()[:120]!r}")
    return None


def _numeric(item: QuizItem, doc: Document) -> str | None:
    if item.options:
        return "a fill-in item has no options"
    if number_of(item.key) is None:
        return f"the key {item.key!r} has no number"
    if not mentions(item.quote, item.key):
        return f"the quote does not contain the key {item.key!r}"
    if BLANK not in item.stem:
        return "the stem has no blank"
    return None


def _ordering(item: QuizItem, doc: Document) -> str | None:
    n = len(item.options)
    if n < 3:
        return "fewer than 3 steps to order"
    letters = item.key.split(",")
    if sorted(letters) != list(LETTERS[:n]):
        return f"the key {item.key!r} is not an order of the letters {LETTERS[:n]}"
    quote = normalise(item.quote)
    positions = []
    for letter in letters:
        step = normalise(item.options[LETTERS.index(letter)])
        if step not in quote:
            return f"step {step[:60]!r} is not in the quote"
        positions.append(quote.index(step))
    if positions != sorted(positions) or len(set(positions)) != n:
        return "the key's order is not the order of the steps in the quote"
    return None
