"""The deterministic item generator: questions from a document's own steps, values and tables.

No model is needed, and the same document always gives the same items (seeds come from the
text), so a module can be rebuilt and reviewed reproducibly. Distractors come from the same
document (other setpoints with the same unit, other rows of the same table column, other
alarms' actions, other conditional steps' actions): they look plausible because they are real
values of the plant, and the validator then checks that none of them is also right.

An LLM-assisted generator can be plugged in later through `ItemGenerator` (one method); its
items go through the same validation and the same approval, so nothing changes downstream.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Sequence
from typing import Protocol

from knowledge import Document

from .items import QuizItem
from .structure import Sentence, Structure, is_code, parse
from .text import Value, clean, cue_lines, mentions, number_of, to_float, too_similar, values_in

BLANK = "____"
LETTERS = "ABCDEFGH"
_CONDITION = re.compile(
    r"^(If|When|On|After|Before|Whenever|Where)\s+(.{8,160}?),\s+(.{12,260}?)\.?$")
# Links and images: values inside URLs are not statements ("%20N" is no force).
_MARKUP = re.compile(r"\]\(|https?://|<img", re.IGNORECASE)
# "See section 6.5" points elsewhere: no knowledge to test.
_CROSS_REFERENCE = re.compile(r"^(see|refer to|as per|per)\b", re.IGNORECASE)
_MESSAGE_HEADERS = ("message", "meaning", "description", "alarm", "text", "name")
_ACTION_HEADERS = ("action", "response", "what to do", "remedy", "operator", "measure")


class ItemGenerator(Protocol):
    """Anything that turns one document into candidate items (validated afterwards)."""

    def generate(self, doc: Document) -> list[QuizItem]: ...


def _rng(*parts: str) -> random.Random:
    return random.Random(int(hashlib.sha1("|".join(parts).encode()).hexdigest()[:12], 16))


def short_section(section: str) -> str:
    return section.split(" > ")[-1] if section else "(untitled)"


class DeterministicGenerator:
    """Builds multiple choice, true/false, numeric fill-in, ordering and scenario items."""

    def __init__(self, max_items: int = 60, options: int = 4) -> None:
        self.max_items = max_items
        self.options = options

    def generate(self, doc: Document) -> list[QuizItem]:
        structure = parse(doc.text)
        builders = [self._value_items(doc, structure), self._table_items(doc, structure),
                    self._alarm_items(doc, structure), self._ordering_items(doc, structure),
                    self._condition_items(doc, structure)]
        # Round robin across kinds, so a capped module still has every kind of question.
        items: list[QuizItem] = []
        seen: set[str] = set()
        while any(builders) and len(items) < self.max_items:
            for group in builders:
                if group and len(items) < self.max_items:
                    item = group.pop(0)
                    if item.item_id not in seen:
                        seen.add(item.item_id)
                        items.append(item)
            builders = [b for b in builders if b]
        items.sort(key=lambda i: (i.quote_start, i.type))
        return items

    # -- helpers --------------------------------------------------------------------------

    def _item(self, doc: Document, **fields) -> QuizItem:
        return QuizItem(doc_id=doc.doc_id, revision=doc.revision, **fields)

    def _pick(self, key: str, candidates: list[str], quote: str, seed: str,
              stated: Sequence[str] = ()) -> list[str]:
        """Up to options-1 distractors: distinct, not in the quote, not near the key, and not
        on a line that states the asked-about thing (`stated`), where it could be right too."""
        chosen: list[str] = []
        for candidate in candidates:
            if (not candidate or mentions(quote, candidate) or too_similar(candidate, key)
                    or any(too_similar(candidate, c) for c in chosen)
                    or any(mentions(line, candidate) for line in stated)):
                continue
            chosen.append(candidate)
            if len(chosen) == self.options - 1:
                break
        return chosen

    def _shuffle(self, key: str, distractors: list[str], seed: str) -> list[str]:
        options = [key] + distractors
        _rng(seed).shuffle(options)
        return options

    # -- values in sentences: multiple choice, numeric fill-in, true/false -----------------

    def _value_pool(self, structure: Structure) -> dict[str, list[Value]]:
        pool: dict[str, list[Value]] = {}
        texts = [s.text for s in structure.sentences]
        texts += [row.text for table in structure.tables for row in table.rows]
        for text in texts:
            for value in values_in(text):
                same = pool.setdefault(value.family, [])
                if all(v.amount != value.amount for v in same):
                    same.append(value)
        return pool

    def _value_distractors(self, value: Value, pool: dict[str, list[Value]], quote: str,
                           stated: list[str]) -> list[str]:
        key = value.amount
        others = [v for v in pool.get(value.family, []) if v.amount != key]
        # Nearest magnitudes first: 15 min is a plausible wrong answer for 20 min, 3 years not.
        others.sort(key=lambda v: abs(math.log((v.amount or 0.01) / (key or 0.01))))
        candidates = [_with_number(value, v.number) for v in others]
        if len(candidates) < self.options - 1:
            # Too few values of this unit in the document: scaled values of the key fill up.
            candidates += [_with_number(value, n) for n in _scaled(value.number)]
        chosen = []
        for c in candidates:
            if c not in chosen and not mentions(quote, c) \
                    and not any(mentions(line, c) for line in stated):
                chosen.append(c)
            if len(chosen) == self.options - 1:
                break
        return chosen

    def _value_items(self, doc: Document, structure: Structure) -> list[QuizItem]:
        pool = self._value_pool(structure)
        items = []
        for n, sentence in enumerate(structure.sentences):
            values = values_in(sentence.text)
            if not values or len(sentence.text) > 320 or _MARKUP.search(sentence.text):
                continue
            seed = f"{doc.key}|{sentence.start}"
            value = values[_rng(seed).randrange(len(values))]
            left, right = sentence.text[:value.start], sentence.text[value.end:]
            cue = _cue(left, right)
            if not cue:
                continue
            common = dict(section=sentence.section, quote=sentence.text,
                          quote_start=sentence.start, source_kind="sentence", cue=[cue])
            blanked = clean(f"{left}{BLANK}{right}")
            where = f"{doc.doc_id}, section {short_section(sentence.section)}"
            distractors = self._value_distractors(value, pool, sentence.text,
                                                  cue_lines(doc.text, [cue]))
            kind = n % 3
            if kind == 0 and len(distractors) >= 2:
                items.append(self._item(
                    doc, type="multiple_choice", key=value.raw,
                    stem=f"{where}: which value completes the statement? \u201c{blanked}\u201d",
                    options=self._shuffle(value.raw, distractors, seed), **common))
            elif kind == 1 or len(distractors) < 1:
                items.append(self._item(
                    doc, type="numeric", key=value.raw, options=[],
                    stem=f"{where}: fill in the value (with its unit). \u201c{blanked}\u201d",
                    **common))
            else:
                truthful = _rng(seed, "tf").random() < 0.5
                claim = value.raw if truthful else distractors[0]
                statement = clean(f"{left}{claim}{right}")
                items.append(self._item(
                    doc, type="true_false", key="True" if truthful else "False",
                    options=["True", "False"], fact=value.raw, claim=claim,
                    stem=f"True or false? {where} states: \u201c{statement}\u201d", **common))
        return items

    # -- table rows: what is the <column> for <row>? ---------------------------------------

    def _table_items(self, doc: Document, structure: Structure) -> list[QuizItem]:
        items = []
        for table in structure.tables:
            if table.is_alarm_table or len(table.rows) < 3 or len(table.header) < 2:
                continue
            rows = [r for r in table.rows if len(r.cells) == len(table.header)]
            first = [clean(r.cells[0]).lower() for r in rows]
            label_width = 1 if len(set(first)) == len(first) else 2
            if label_width >= len(table.header):
                continue
            for column in range(label_width, len(table.header)):
                cells = [clean(r.cells[column]) for r in rows]
                if len({c.lower() for c in cells}) < 3:
                    continue  # a column of repeated values makes no question
                for n, row in enumerate(rows):
                    key = clean(row.cells[column])
                    labels = [clean(c) for c in row.cells[:label_width] if clean(c)]
                    if (not key or len(key) > 160 or not labels or key in ("-", "—", "n/a")
                            or _CROSS_REFERENCE.match(key)):
                        continue
                    if not (re.search(r"[^\W\d_]{3}", labels[0]) or is_code(labels[0])):
                        continue  # a row number or an amount ("7", "20 mL") names nothing
                    seed = f"{doc.key}|{row.start}|{column}"
                    # Values like the key first: a number for a number, a phrase for a phrase.
                    key_is_text = number_of(key) is None
                    ordered = sorted(cells[n + 1:] + cells[:n],
                                     key=lambda c: (number_of(c) is None) != key_is_text)
                    distractors = self._pick(key, ordered, row.text, seed,
                                             cue_lines(doc.text, labels))
                    if len(distractors) < 2:
                        continue
                    label = " \u2014 ".join(labels)
                    where = f"{doc.doc_id}, section {short_section(table.section)}"
                    header = _phrase(clean(table.header[column]) or "value")
                    common = dict(section=table.section, quote=row.text, quote_start=row.start,
                                  source_kind="table_row", cue=labels)
                    if (n + column) % 3 == 2:
                        truthful = _rng(seed, "tf").random() < 0.5
                        claim = key if truthful else distractors[0]
                        items.append(self._item(
                            doc, type="true_false", key="True" if truthful else "False",
                            options=["True", "False"], fact=key, claim=claim,
                            stem=f"True or false? In {where}, the {header} for "
                                 f"\u201c{label}\u201d is: \u201c{claim}\u201d", **common))
                    else:
                        items.append(self._item(
                            doc, type="multiple_choice", key=key,
                            options=self._shuffle(key, distractors, seed),
                            stem=f"{where}: what is the {header} for "
                                 f"\u201c{label}\u201d?", **common))
        return items

    # -- alarm tables: meaning and first response ------------------------------------------

    def _alarm_items(self, doc: Document, structure: Structure) -> list[QuizItem]:
        items = []
        equipment = doc.equipment[0] if doc.equipment else "The equipment"
        for table in structure.tables:
            if not table.is_alarm_table:
                continue
            header = [h.lower() for h in table.header]
            message_col = _column(header, _MESSAGE_HEADERS, exclude=0) or 1
            action_col = _column(header, _ACTION_HEADERS, exclude=0) or len(header) - 1
            rows = [r for r in table.rows if len(r.cells) == len(header)]
            messages = [clean(r.cells[message_col]) for r in rows]
            actions = [_first_clause(clean(r.cells[action_col])) for r in rows]
            for n, row in enumerate(rows):
                code = row.cells[0]
                seed = f"{doc.key}|{row.start}"
                common = dict(section=table.section, quote=row.text, quote_start=row.start,
                              source_kind="alarm_row", cue=[code])
                stated = cue_lines(doc.text, [code])
                distractors = self._pick(messages[n], messages[n + 1:] + messages[:n],
                                         row.text, seed, stated)
                if message_col != action_col and len(distractors) >= 2:
                    items.append(self._item(
                        doc, type="multiple_choice", key=messages[n],
                        options=self._shuffle(messages[n], distractors, seed),
                        stem=f"{doc.doc_id}: what does code {code} mean on {equipment}?",
                        **common))
                distractors = self._pick(actions[n], actions[n + 1:] + actions[:n],
                                         row.text, seed + "a", stated)
                if actions[n] and len(distractors) >= 2:
                    items.append(self._item(
                        doc, type="scenario", key=actions[n],
                        options=self._shuffle(actions[n], distractors, seed + "a"),
                        stem=f"{equipment} shows {code} ({messages[n]}) mid-cycle. Which "
                             f"response does {doc.doc_id} give for this code?", **common))
        return items

    # -- numbered steps: put them in order -------------------------------------------------

    def _ordering_items(self, doc: Document, structure: Structure) -> list[QuizItem]:
        items = []
        for run in structure.steps:
            if len(run) < 3:
                continue
            # Windows of at most 6 steps, all of about equal size and none below 3.
            count = math.ceil(len(run) / 6)
            size = math.ceil(len(run) / count)
            windows = [run[i:i + size] for i in range(0, len(run), size)]
            for window in windows:
                if len(window) < 3:
                    continue
                texts = [_first_sentence(clean(step.text)) for step in window]
                if len({t.lower() for t in texts}) < len(texts) or any(len(t) < 10 for t in texts):
                    continue
                seed = f"{doc.key}|{window[0].start}|order"
                order = list(range(len(texts)))
                shuffler = _rng(seed)
                while order == sorted(order):
                    shuffler.shuffle(order)
                options = [texts[i] for i in order]
                key = ",".join(LETTERS[order.index(i)] for i in range(len(texts)))
                quote = doc.text[window[0].start:window[-1].end]
                items.append(self._item(
                    doc, type="ordering", key=key, options=options,
                    stem=f"{doc.doc_id}, section {short_section(window[0].section)}, steps "
                         f"{window[0].number}\u2013{window[-1].number}: put these steps in the "
                         f"order the procedure gives them (answer with the "
                         f"letters, e.g. {','.join(LETTERS[:len(texts)])}).",
                    section=window[0].section, quote=quote, quote_start=window[0].start,
                    source_kind="steps"))
        return items

    # -- conditional steps: "If X, do Y" -> what do you do when X? -------------------------

    def _condition_items(self, doc: Document, structure: Structure) -> list[QuizItem]:
        found: list[tuple[Sentence, str, str]] = []
        for sentence in structure.sentences:
            match = _CONDITION.match(clean(sentence.text))
            if match and len(match.group(2).split()) >= 3 and len(match.group(3).split()) >= 3 \
                    and _is_instruction(match.group(3)):
                found.append((sentence, f"{match.group(1)} {match.group(2)}",
                              match.group(3).rstrip(".")))
        items = []
        for n, (sentence, condition, action) in enumerate(found):
            others = [a for s, c, a in found[n + 1:] + found[:n] if not too_similar(c, condition)]
            seed = f"{doc.key}|{sentence.start}|if"
            distractors = self._pick(action, others, sentence.text, seed,
                                     cue_lines(doc.text, [condition]))
            if len(distractors) < 2:
                continue
            items.append(self._item(
                doc, type="scenario", key=action,
                options=self._shuffle(action, distractors, seed),
                stem=f"{doc.doc_id}, section {short_section(sentence.section)}: "
                     f"{condition[0].lower()}{condition[1:]}, what does the procedure say to do?",
                section=sentence.section, quote=sentence.text, quote_start=sentence.start,
                source_kind="condition", cue=[condition]))
        return items


def _with_number(value: Value, number: str) -> str:
    text = value.raw.replace(value.number, number, 1)
    # "1 working day" -> "3 working days", "2 h" stays "6 h".
    if to_float(number) != 1 and re.search(r"(day|week|month|year|hour|minute|second)$", text):
        text += "s"
    elif to_float(number) == 1 and re.search(r"(days|weeks|months|years|hours|minutes|seconds)$",
                                          text):
        text = text[:-1]
    return text


def _scaled(number: str) -> list[str]:
    if "," in number:
        return []  # "1,000" or "0,5": scaling would have to guess the notation
    decimals = len(number.split(".")[1]) if "." in number else 0
    x = float(number)
    out = []
    for factor in (2, 0.5, 1.5, 3, 0.25):
        y = round(x * factor, decimals)
        text = f"{y:.{decimals}f}"
        if y > 0 and text != number and text not in out:
            out.append(text)
    return out


def _cue(left: str, right: str) -> str:
    """The words next to a blanked value: enough to find the same statement elsewhere."""
    before = re.findall(r"\S+", left)
    if len(before) >= 3:
        return " ".join(before[-4:])
    after = re.findall(r"\S+", right)
    return " ".join(after[:4]) if len(after) >= 2 else ""


_NOT_IMPERATIVE = {"you", "it", "this", "these", "there", "they", "we", "i", "that", "which"}


def _is_instruction(action: str) -> bool:
    """"close the valve" is something to do; "you will notice the similarities:" is not."""
    first = action.split()[0].lower().strip("\"'(")
    return not action.rstrip().endswith(":") and first not in _NOT_IMPERATIVE


def _phrase(header: str) -> str:
    """A column header inside a sentence: "Setpoint" -> "setpoint", "Grade A (ISO-03)" kept."""
    rest = header[1:]
    return header if any(c.isupper() for c in rest) else header[:1].lower() + rest


def _column(header: list[str], names: tuple[str, ...], exclude: int) -> int | None:
    for name in names:
        for i, h in enumerate(header):
            if i != exclude and name in h:
                return i
    return None


def _first_clause(text: str) -> str:
    return re.split(r";\s+|\.\s+(?=[A-Z])", text, maxsplit=1)[0].rstrip(".").strip()


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=[.!?])\s+(?=[A-Z\"(])", text, maxsplit=1)[0]
    if len(sentence) > 180:
        cut = max(sentence.rfind(",", 0, 180), sentence.rfind(";", 0, 180))
        sentence = sentence[:cut] if cut > 40 else sentence
    return sentence.rstrip(":;,")


__all__ = ["BLANK", "LETTERS", "DeterministicGenerator", "ItemGenerator", "short_section"]
