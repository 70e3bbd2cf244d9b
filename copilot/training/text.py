"""Small text tools shared by the generator, the validator and grading: values with units,
normalised matching with word boundaries, and word overlap."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Units an SOP states setpoints, times and limits in. Longer spellings first: the regex takes
# the first alternative that matches ("mbar/min" before "mbar", "working days" before "days").
_UNITS = [
    "°C", "° C", "°F", "degrees celsius", "degrees Celsius", "degrees C", "mbar/min", "mbar",
    "bar\\(g\\)", "bar", "psi", "kPa", "Pa", "working days?", "calendar days?", "days?",
    "weeks?", "months?", "years?", "hours?", "hrs?", "h", "minutes?", "mins?", "seconds?",
    "sec", "s", "mg/mL", "mg/L", "µg/mL", "mg", "µg", "ug", "kg", "g", "mL", "ml", "µL", "uL",
    "ul", "L", "%", "µm", "mm", "cm", "m", "rpm", "x ?g", "CFU/m³", "CFU/plate", "CFU/100 mL",
    "CFU/mL", "CFU", "EU/mL", "µS/cm", "mS/cm", "ppm", "ppb", "N", "kN", "lux", "batches",
    "pulses", "cycles", "times", "STU",
]
VALUE = re.compile(
    r"(?<![\w.\-/%])(\d+(?:[.,]\d+)?)[ \u00a0]?(" + "|".join(_UNITS) + r")(?![\w/²³])")
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_WORD = re.compile(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*")
_STOP = {"the", "and", "a", "an", "of", "to", "in", "on", "for", "or", "is", "are", "be",
         "with", "at", "by", "it", "its", "as", "from", "that", "this", "not", "do", "if"}


@dataclass(frozen=True)
class Value:
    number: str
    unit: str
    start: int  # offset in the text searched
    end: int
    raw: str  # verbatim, e.g. "3.0 bar(g)" or "50%"

    @property
    def amount(self) -> float:
        return to_float(self.number)

    @property
    def family(self) -> str:
        return unit_family(self.unit)


def unit_family(unit: str) -> str:
    """Spellings of one unit compare equal: "min" and "minutes", "day" and "days"."""
    u = unit.lower().replace(" ", "")
    for family, spellings in (("min", ("min", "mins", "minute", "minutes")),
                              ("h", ("h", "hr", "hrs", "hour", "hours")),
                              ("s", ("s", "sec", "second", "seconds")),
                              ("day", ("day", "days")), ("week", ("week", "weeks")),
                              ("month", ("month", "months")), ("year", ("year", "years")),
                              ("°c", ("°c", "degreescelsius", "degreesc")),
                              ("ml", ("ml",)), ("ul", ("µl", "ul")),
                              ("workingday", ("workingday", "workingdays")),
                              ("calendarday", ("calendarday", "calendardays"))):
        if u in spellings:
            return family
    return u


def values_in(text: str) -> list[Value]:
    return [Value(m.group(1), m.group(2), m.start(), m.end(), m.group(0))
            for m in VALUE.finditer(text)]


def to_float(number: str) -> float:
    """ "1,000" is a thousand, "0,5" a half: a comma before exactly 3 digits groups thousands."""
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+", number):
        return float(number.replace(",", ""))
    return float(number.replace(",", "."))


def number_of(text: str) -> float | None:
    match = _NUMBER.search(text)
    return to_float(match.group(0)) if match else None


def normalise(text: str) -> str:
    """Case, whitespace, Markdown emphasis and typographic quotes do not change meaning."""
    text = text.replace("**", "").replace("`", "").replace("\u00a0", " ")
    text = text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2019", "'")
    return re.sub(r"\s+", " ", text).strip().lower()


def mentions(text: str, phrase: str) -> bool:
    """`phrase` occurs in `text` as whole words: "5 min" is not in "15 min"."""
    phrase = normalise(phrase)
    if not phrase:
        return False
    left = r"(?<![\w.])" if phrase[0].isalnum() else ""
    right = r"(?![\w])" if phrase[-1].isalnum() else ""
    return re.search(left + re.escape(phrase) + right, normalise(text)) is not None


def words(text: str) -> set[str]:
    return {w for w in _WORD.findall(normalise(text)) if w not in _STOP}


def overlap(a: str, b: str) -> float:
    """Jaccard overlap of content words: how near two options are to saying the same thing."""
    wa, wb = words(a), words(b)
    if not wa or not wb:
        return 0.0
    return len(wa & wb) / len(wa | wb)


def too_similar(a: str, b: str, threshold: float = 0.5) -> bool:
    wa, wb = words(a), words(b)
    return overlap(a, b) >= threshold or (bool(wa) and bool(wb) and (wa <= wb or wb <= wa))


def clean(text: str) -> str:
    """Display form: Markdown emphasis removed, spaces collapsed."""
    return re.sub(r"\s+", " ", text.replace("**", "").replace("`", "")).strip()


def cue_lines(text: str, cue: list[str]) -> list[str]:
    """Lines of `text` that hold every part of `cue`: where the asked-about thing is stated."""
    if not cue:
        return []
    return [line for line in text.splitlines() if all(mentions(line, part) for part in cue)]
