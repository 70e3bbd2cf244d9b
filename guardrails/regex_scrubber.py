"""A regex-only scrubber for unit tests of orchestration (never a default: nothing builds it
from settings). It finds e-mail addresses, phone numbers, badge/employee numbers after an id
word, and capitalised two-word names after a role or record word ("Operator Maria Kowalski",
"reviewed by Jan Novak"), with no spaCy and no Presidio; the real scrubber is
`PresidioScrubber`."""

from __future__ import annotations

import re

from .pii import Scrubber, Span

_PATTERNS = (
    ("EMAIL_ADDRESS", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("PHONE_NUMBER", re.compile(r"(?<!\w)\+\d{1,3}(?:[ -]?\d{2,4}){2,4}(?!\w)")),
    ("EMPLOYEE_ID", re.compile(r"(?i:\b(?:badge|employee|staff)\s*(?:no\.?|number|id)?\s*)"
                               r"(\d{4,6})\b")),
    ("PERSON", re.compile(r"(?i:\b(?:operator|supervisor|technician|analyst|reviewed by|"
                          r"approved by|signed by)\s+)([A-Z][a-z]+ [A-Z][a-z]+)\b")),
)


class RegexScrubber(Scrubber):
    def analyze(self, text: str) -> list[Span]:
        found: list[Span] = []
        for entity, pattern in _PATTERNS:
            for match in pattern.finditer(text):
                group = 1 if match.groups() else 0
                found.append(Span(match.start(group), match.end(group), entity, 1.0))
        found.sort(key=lambda s: (s.start, -s.end))
        kept: list[Span] = []
        for span in found:  # non-overlapping, first and longest wins
            if not kept or span.start >= kept[-1].end:
                kept.append(span)
        return kept


__all__ = ["RegexScrubber"]
