"""Quantities in text as (number, unit) pairs, with one shared unit vocabulary.

Why pairs: a claim's "20 h" must be found as 20 *hours* in the passage; checking the numbers
and the units as two separate sets lets "20 h" pass a passage holding "20 min" and "15 h".
Why one vocabulary with prefixes: "20 N" and "20 kN", "50 µg" and "50 mg", "5 mm" and "5 min"
are different quantities, while "121 °C", "121.0 °C" and "121 degrees Celsius" are the same.
Units are compared by identity, never converted: a controlled document states a setpoint in
one unit, and a claim that restates it in another is not what the document says.

Each quantity also carries the bound it is stated with ("at least 15 min" is a lower bound,
"48 h or less" an upper one), so "at most 15 min" does not pass "at least 15 min".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# canonical unit -> spellings. Short symbols are matched case-sensitively (m is metre, M is
# molar; mm is millimetre, mM millimolar); words are matched in any case.
_PREFIXED = {  # base symbol -> SI prefixes used on it in plants and labs
    "g": ("µ", "u", "m", "", "k"), "L": ("µ", "u", "m", "d", ""), "m": ("µ", "u", "n", "m", "c", "", "k"),
    "N": ("", "k"), "Pa": ("", "h", "k", "M"), "bar": ("m", ""), "V": ("m", "", "k"),
    "W": ("", "k"), "M": ("µ", "u", "m", "n", ""), "S/cm": ("µ", "u", "m"), "Hz": ("", "k"),
}
_WORDS = {
    "°C": ["°C", "° C", "ºC", "℃", "degC", "deg C", "degrees C", "degrees celsius", "degree celsius",
           "degrees centigrade", "celsius", "celcius", "degrees celcius", "C"],
    "°F": ["°F", "° F", "ºF", "degF", "deg F", "degrees F", "degrees fahrenheit", "fahrenheit", "F"],
    "K": ["K", "kelvin"],
    "bar(g)": ["bar(g)", "bar (g)", "barg", "bar g"], "mbar(g)": ["mbar(g)", "mbarg"],
    "psi": ["psi", "psig", "psia"],
    "%RH": ["% RH", "%RH", "% rh", "% relative humidity", "percent relative humidity"],
    "%": ["%", "percent", "per cent", "% v/v", "% w/w", "% w/v", "%v/v", "%w/w", "%w/v"],
    "ppm": ["ppm"], "ppb": ["ppb"], "ppt": ["ppt"],
    "s": ["s", "sec", "secs", "second", "seconds"], "min": ["min", "mins", "minute", "minutes"],
    "h": ["h", "hr", "hrs", "hour", "hours"], "day": ["day", "days", "d"],
    "working day": ["working day", "working days", "business day", "business days"],
    "week": ["week", "weeks", "wk", "wks"], "month": ["month", "months"],
    "year": ["year", "years", "yr", "yrs"],
    "rpm": ["rpm", "RPM", "rev/min"], "xg": ["x g", "xg", "× g", "×g"], "x": ["x", "×"],
    "CFU": ["CFU", "cfu"], "EU": ["EU"], "log": ["log", "log10"],
    "µm": ["micron", "microns", "micrometre", "micrometres", "micrometer", "micrometers"],
    "mL": ["ml", "millilitre", "millilitres", "milliliter", "milliliters", "cc"],
    "L": ["l", "litre", "litres", "liter", "liters"], "µL": ["ul"],
    "g": ["gram", "grams"], "kg": ["kilogram", "kilograms"], "mg": ["milligram", "milligrams"],
    "µg": ["mcg", "microgram", "micrograms"],
    "mm": ["millimetre", "millimetres", "millimeter", "millimeters"],
    "cm": ["centimetre", "centimetres", "centimeter", "centimeters"],
    "m": ["metre", "metres", "meter", "meters"],
    "cm²": ["cm²", "cm2", "sq cm"], "m²": ["m²", "m2"], "m³": ["m³", "m3"],
    "lux": ["lux", "lx"], "dB": ["dB"], "A": ["A", "amp", "amps"], "mA": ["mA"],
    "STU": ["STU"], "N": ["newton", "newtons"], "lb": ["lb", "lbs", "pound", "pounds"],
    "oz": ["oz", "ounce", "ounces"], "ft": ["ft", "feet", "foot"], "inch": ["inch", "inches"],
    "gal": ["gal", "gallon", "gallons"],
}
# What a unit measures: a claim value of the same dimension as one the passage states for
# the same item, but not equal to it, is a value moved from elsewhere.
_DIMENSIONS = {
    "time": "s min h day working day week month year", "temperature": "°C °F K",
    "pressure": "Pa hPa kPa MPa bar mbar bar(g) mbar(g) psi",
    "mass": "µg mg g kg lb oz", "volume": "µL mL dL L gal",
    "length": "nm µm mm cm m km ft inch", "fraction": "% ppm ppb ppt %RH", "force": "N kN",
}
_DIMENSION_OF = {u: d for d, units in _DIMENSIONS.items() for u in units.split()}


def _vocabulary() -> tuple[dict[str, str], dict[str, str]]:
    exact: dict[str, str] = {}  # case-sensitive spellings
    folded: dict[str, str] = {}  # lower-cased spellings of words
    for base, prefixes in _PREFIXED.items():
        for p in prefixes:
            canonical = ("µ" if p == "u" else p) + base
            exact[p + base] = canonical
    exact["ml"] = exact["mL"] = "mL"
    for canonical, spellings in _WORDS.items():
        for s in spellings:
            # Symbols of one or two letters stay case-sensitive; longer words fold.
            if len(s) <= 2 and s.isalpha() or s in ("EU", "STU", "CFU", "RPM", "dB", "mA"):
                exact.setdefault(s, canonical)
            else:
                folded.setdefault(s.lower(), canonical)
    return exact, folded


EXACT_UNITS, FOLDED_UNITS = _vocabulary()
# Denominators after a unit: "mbar/min", "EU/mL", "µS/cm", "CFU/plate", "CFU/100 mL".
_DENOMINATOR = r"(?:\s?/\s?(?:100\s?mL|25\s?cm²|[A-Za-zµ²³]{1,8}\d?))?"
_ALTERNATIVES = sorted(set(EXACT_UNITS) | set(FOLDED_UNITS), key=len, reverse=True)
# For other modules (training's value finder): every spelling, longest first, regex-escaped.
# A lone "C" or "F" is a unit only when attached ("28C"), which a plain alternation cannot say.
UNIT_PATTERNS = [re.escape(u) for u in _ALTERNATIVES if u not in ("C", "F")]
_UNIT = "|".join(re.escape(u) if u in EXACT_UNITS else f"(?i:{re.escape(u)})"
                 for u in _ALTERNATIVES)
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:[.,]\d+)?"
# A number, an optional unit right after it (a space at most; "C"/"F" only when attached).
_QUANTITY = re.compile(
    rf"(?<![\w.,/])(?P<sign>(?<![\d)])[-−](?=\d))?(?P<num>{_NUM})"
    rf"(?:(?P<sp>[ \u00a0\u202f]?)(?P<unit>{_UNIT})(?P<den>{_DENOMINATOR}))?(?![\w²³])")
_RANGE_LINK = re.compile(r"^\s*(?:-|–|—|to|and|or|bis)\s*$", re.IGNORECASE)
_NUMBER_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                 "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "twice": 2, "both": 2,
                 "one": 1, "single": 1, "half": 0.5, "dozen": 12, "fifteen": 15,
                 "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
                 "ninety": 90, "hundred": 100, "thousand": 1000,
                 # "after every tenth full clean" is "after every 10th"
                 "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
                 "ninth": 9, "tenth": 10, "twelfth": 12}
NUMBER_WORDS = frozenset(_NUMBER_WORDS) - {"single", "both", "half", "twice"}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b(?!-)", re.IGNORECASE)
# "10th", "3rd": an ordinal is its number ("third" is too).
_ORDINAL = re.compile(r"(?<![\w.,])(\d{1,3})(?:st|nd|rd|th)\b")
# A number word takes the unit written right after it: "two minutes" is 2 min, not 2 h.
_WORD_UNIT = re.compile(r"^[ \u00a0]?(" + "|".join(
    re.escape(u) for u in sorted(set(FOLDED_UNITS) | {"min", "h", "s", "d"}, key=len, reverse=True)
    if re.fullmatch(r"[a-z ]+", u)) + r")\b", re.IGNORECASE)
# Words that make a stated value a lower or an upper bound, before or after it.
_LINK = r"(?:\s+(?:every|each|a|an|of|the|once|per))*"  # "at least every 15 min"
_LOWER_BEFORE = re.compile(r"(?:at least|minimum(?: of)?|min\.|not less than|no less than|"
                           r"more than|greater than|above|over|exceed(?:s|ing)?|higher than|"
                           r"≥|>=|>|from)" + _LINK + r"\s*$", re.IGNORECASE)
_UPPER_BEFORE = re.compile(r"(?:at most|maximum(?: of)?|max\.?|not more than|no more than|"
                           r"not exceed(?:ing)?|less than|lower than|below|under|up to|within|"
                           r"≤|=<|<=|<)" + _LINK + r"\s*$", re.IGNORECASE)
_LOWER_AFTER = re.compile(r"^\s*(?:or more|or higher|or above|or greater|or longer|minimum|min\b)",
                          re.IGNORECASE)
_UPPER_AFTER = re.compile(r"^\s*(?:or less|or lower|or below|or fewer|or shorter|maximum|max\b)",
                          re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str | None  # canonical unit; None for a bare number
    bound: str | None = None  # "lower", "upper" or None (exact, or a range's end)
    start: int = 0
    end: int = 0
    text: str = ""

    def same_as(self, other: Quantity) -> bool:
        """Same number (121 == 121.0) and the same unit; a bare claim number matches any."""
        return abs(self.value - other.value) < 1e-9 and (self.unit is None or self.unit == other.unit)

    def __str__(self) -> str:
        return self.text or (f"{self.value:g} {self.unit}" if self.unit else f"{self.value:g}")


def dimension(unit: str | None) -> str | None:
    """What the unit measures ("min" and "h": time); a rate keeps its denominator."""
    if unit is None:
        return None
    base, _, per = unit.partition("/")
    return _DIMENSION_OF.get(base, base) + (f"/{per}" if per else "")


def canonical_unit(spelling: str) -> str | None:
    spelling = " ".join(spelling.split())
    if spelling in EXACT_UNITS:
        return EXACT_UNITS[spelling]
    return FOLDED_UNITS.get(spelling.lower())


def to_number(text: str) -> float:
    """ "1,000" is a thousand, "0,5" a half: a comma before exactly 3 digits groups thousands."""
    if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", text):
        return float(text.replace(",", ""))
    return float(text.replace(",", "."))


def quantities_in(text: str) -> list[Quantity]:
    """Every number in `text` with its unit and bound; a range's first end takes the unit of
    its second ("3.0 to 3.8 bar(g)", "15–22 °C", "between 121.0 and 124.0 °C")."""
    found: list[Quantity] = []
    for m in _QUANTITY.finditer(text):
        value = to_number(m.group("num")) * (-1 if m.group("sign") else 1)
        unit = None
        if m.group("unit"):
            spelled = m.group("unit")
            if spelled in ("C", "F") and m.group("sp") and not _SPACED_DEGREES.search(
                    text[max(0, m.start() - 20):m.start()] + "|" + text[m.end():m.end() + 12]):
                unit = None  # "Grade 4 C", "Figure 2 F": a lone letter after a space is no unit
            else:
                unit = canonical_unit(spelled)
                den = (m.group("den") or "").replace(" ", "")
                if unit and den:
                    unit += "/" + (canonical_unit(den[1:]) or den[1:])
        end = m.end() if unit else m.end("num")
        found.append(Quantity(value, unit, _bound(text, m.start(), end), m.start(), end,
                              text[m.start():end]))
    for m in _NUMBER_WORD.finditer(text):
        word = m.group(1).lower()
        hour = re.match(r"\s+an?\s+hour\b", text[m.end():], re.IGNORECASE)
        if word == "half" and hour:
            # "half an hour" is 30 min, the way a passage writes it
            end = m.end() + hour.end()
            found.append(Quantity(30.0, "min", _bound(text, m.start(), end), m.start(), end,
                                  text[m.start():end]))
            continue
        if not re.match(r"\s+(?:of|another|or|by)\b", text[m.end():]):
            after = _WORD_UNIT.match(text[m.end():m.end() + 24])
            unit = canonical_unit(after.group(1)) if after and word in NUMBER_WORDS else None
            end = m.end() + after.end() if after and unit else m.end()
            found.append(Quantity(float(_NUMBER_WORDS[word]), unit,
                                  _bound(text, m.start(), end) if unit else None,
                                  m.start(), end, text[m.start():end]))
    for m in _ORDINAL.finditer(text):
        found.append(Quantity(float(m.group(1)), None, None, m.start(), m.end(), m.group(0)))
    found.sort(key=lambda q: q.start)
    found = _inherit_list_units(text, _inherit_range_units(text, found))
    return found + _tolerance_ends(text, found)


# "transfer to 50 C drying oven", "store at 4 C overnight": a spaced C is degrees when a
# temperature word is near ("oven", "incubate", "store", "at") and no label word ("Grade",
# "Class", "Figure") names the number.
_SPACED_DEGREES = re.compile(
    r"(?<![A-Za-z])(?:at|to|oven|bath|incubat\w*|stor\w*|heat\w*|cool\w*|freez\w*|fridge|"
    r"temperature|warm\w*|dry\w*|drying|water)\s+[-−]?\d+(?:[.,]\d+)?\s*\||"
    r"^[^|]*\|\s*(?:oven|bath|incubat\w*|stor\w*|overnight|water bath|drying|freezer)\b",
    re.IGNORECASE)
# "a, b, and c mL": the ends of a list take its one unit, as a range's ends do.
_LIST_LINK = re.compile(r"^\s*,\s*(?:and\s+|or\s+)?$")
# "60 °C ± 5 °C" is the range 55 to 65 °C.
_TOLERANCE = re.compile(r"^\s*(?:±|\+/-|\+/−|plus or minus)\s*$", re.IGNORECASE)


def _inherit_list_units(text: str, found: list[Quantity]) -> list[Quantity]:
    """ "0.5, 1.7, and 2 mL": 0.5 and 1.7 are mL as well, when the list closes with "and" or
    "or" before its one unit (a plain comma between numbers may join two facts)."""
    out = list(found)
    for i in range(len(out) - 1, 0, -1):
        first, second = out[i - 1], out[i]
        if first.unit is not None or second.unit is None:
            continue
        link = text[first.end:second.start]
        if not _LIST_LINK.match(link):
            continue
        # the chain must end in "and"/"or" before its unit: find the quantity that holds it
        j = i
        while j + 1 < len(out) and out[j].unit == second.unit and _LIST_LINK.match(
                text[out[j].end:out[j + 1].start]):
            j += 1
        tail = text[out[max(i, j - 1)].end:out[j].start] if j > i else link
        closing = [text[out[k].end:out[k + 1].start] for k in range(i - 1, len(out) - 1)]
        if not any(re.search(r"\b(?:and|or)\b", c) for c in closing[:4]) and not re.search(
                r"\b(?:and|or)\b", tail):
            continue
        out[i - 1] = Quantity(first.value, second.unit, first.bound, first.start, first.end,
                              f"{first.text} {second.unit}")
    return out


def _tolerance_ends(text: str, found: list[Quantity]) -> list[Quantity]:
    """The ends of "60 °C ± 5 °C" (and "60 ± 5 °C") as quantities of their own."""
    ends = []
    for value, tol in zip(found, found[1:], strict=False):
        unit = value.unit or tol.unit
        if unit and tol.unit in (None, unit) and _TOLERANCE.match(text[value.end:tol.start]):
            # the low end is a lower bound, the high end an upper one ("at most 55 °C" is not
            # what "60 °C ± 5 °C" says)
            for v, bound in ((value.value - tol.value, "lower"), (value.value + tol.value, "upper")):
                ends.append(Quantity(round(v, 9), unit, bound, value.start, tol.end,
                                     f"{v:g} {unit}"))
    return ends


# A negated comparison is the opposite bound: "not less than 5 min" is at least 5 min, "not
# higher than 1.3 mbar/min" and "no later than 2 days" at most. Checked before the plain words.
_NOT = r"\b(?:not|no|never)\s+(?:case\s+|be\s+|to\s+be\s+)?"  # "in no case less than 2 years"
_NEGATED_UPPER = re.compile(_NOT + r"(?:more|higher|greater|later|longer|above|over|exceeding|"
                            r"warmer|hotter)"
                            r"(?:\s+than)?" + _LINK + r"\s*$", re.IGNORECASE)
_NEGATED_LOWER = re.compile(_NOT + r"(?:less|lower|fewer|earlier|shorter|below|under|sooner|"
                            r"colder|cooler)"
                            r"(?:\s+than)?" + _LINK + r"\s*$", re.IGNORECASE)


def _bound(text: str, start: int, end: int) -> str | None:
    before, after = text[max(0, start - 36):start], text[end:end + 14]
    if _NEGATED_UPPER.search(before):
        return "upper"
    if _NEGATED_LOWER.search(before):
        return "lower"
    if _UPPER_BEFORE.search(before) or _UPPER_AFTER.match(after):
        return "upper"
    if _LOWER_BEFORE.search(before) or _LOWER_AFTER.match(after):
        return "lower"
    return None


def _inherit_range_units(text: str, found: list[Quantity]) -> list[Quantity]:
    out = list(found)
    for i in range(len(out) - 1, 0, -1):
        first, second = out[i - 1], out[i]
        if first.unit is None and second.unit and _RANGE_LINK.match(text[first.end:second.start]):
            out[i - 1] = Quantity(first.value, second.unit, None, first.start, first.end,
                                  f"{first.text} {second.unit}")
        if _RANGE_LINK.match(text[first.end:second.start]) and (first.unit or second.unit):
            # Ends of a range are not bounds of their own: "between 10 and 14 kN".
            out[i - 1] = Quantity(out[i - 1].value, out[i - 1].unit, None, first.start,
                                  first.end, out[i - 1].text)
            out[i] = Quantity(second.value, second.unit, None, second.start, second.end,
                              second.text)
    return out


def compatible(claim: Quantity, stated: Quantity) -> bool:
    """`stated` (from a passage) supports `claim`: same value and unit, and no opposite bound
    ("at most 15 min" is not "at least 15 min"; a claim that drops the bound is still true)."""
    if not claim.same_as(stated):
        return False
    return not (claim.bound and stated.bound and claim.bound != stated.bound)


def unsupported(claim_text: str, passage_text: str) -> list[Quantity]:
    """The claim's quantities that the passage does not state, with the same unit and bound."""
    stated = quantities_in(passage_text)
    # A claim's "both" ("both at 25 °C") restates two things the passage names; it is a
    # quantifier, not a value the passage must write as 2.
    return [q for q in quantities_in(claim_text) if q.text.lower() != "both"
            and not any(compatible(q, s) for s in stated)]


__all__ = ["EXACT_UNITS", "FOLDED_UNITS", "Quantity", "UNIT_PATTERNS", "canonical_unit",
           "compatible", "dimension", "quantities_in", "to_number", "unsupported"]
