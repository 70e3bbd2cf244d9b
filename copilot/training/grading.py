"""Grading one answer against one item. Lenient about form, strict about content: a letter or
the option text for a choice, "t"/"true"/"yes" for true, any spacing for an order, the
number (unit optional, but a wrong unit is wrong) for a fill-in."""

from __future__ import annotations

import re

from .generator import LETTERS
from .items import QuizItem
from .text import normalise, number_of, unit_family, values_in

_TRUE = {"t", "true", "yes", "y", "1", "correct"}
_FALSE = {"f", "false", "no", "n", "0", "incorrect"}


def grade(item: QuizItem, answer: str) -> bool:
    answer = (answer or "").strip()
    if not answer:
        return False
    if item.type == "true_false":
        said = answer.lower().rstrip(".")
        if said in _TRUE:
            return item.key == "True"
        if said in _FALSE:
            return item.key == "False"
        return False
    if item.type == "ordering":
        letters = re.sub(r"[^A-Za-z]", "", answer).upper()
        return letters == item.key.replace(",", "")
    if item.type == "numeric":
        return _same_value(answer, item.key)
    return normalise(option_text(item, answer)) == normalise(item.key)


def option_text(item: QuizItem, answer: str) -> str:
    """"B", "b)", "2" or the text itself -> the option's text."""
    token = answer.strip().rstrip(").").strip()
    if len(token) == 1 and token.upper() in LETTERS[:len(item.options)]:
        return item.options[LETTERS.index(token.upper())]
    if token.isdigit() and 1 <= int(token) <= len(item.options):
        return item.options[int(token) - 1]
    return answer


def _same_value(answer: str, key: str) -> bool:
    wanted, given = number_of(key), number_of(answer)
    if wanted is None or given is None or abs(wanted - given) > 1e-9:
        return False
    key_values, answer_values = values_in(key), values_in(answer)
    if answer_values and key_values:
        return unit_family(answer_values[0].unit) == unit_family(key_values[0].unit)
    # A bare number is accepted; a number with some other, unrecognised word after it is not.
    rest = re.sub(r"-?\d+(?:[.,]\d+)?", "", answer, count=1).strip()
    return not rest or normalise(rest) == normalise(re.sub(r"-?\d+(?:[.,]\d+)?", "", key,
                                                               count=1))
