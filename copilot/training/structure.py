"""What a quiz can be built from: the sections, numbered steps, sentences with values and
table rows of one document, each with its exact span in `Document.text`.

Section names follow the chunker's convention (heading path joined by " > ", the single
`#` title dropped), so a gap found through a chunk's section maps onto a module's section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from knowledge import section_spans  # the same section names the chunks carry

_NUMBERED = re.compile(r"^(\d{1,2})[.)][ \t]+(.*)$")
_LIST = re.compile(r"^([ \t]*)(\d+[.)]|[-*+]|[a-z][.)])[ \t]+")
_TABLE_ROW = re.compile(r"^[ \t]*\|")
# A table's rule line (| --- | :-: |): only rule characters, a pipe after the first one. One character
# class and a plain `in`: the old pattern's overlapping runs were quadratic on a line of pipes.
_RULE_CHARS = re.compile(r"[ \t:|-]+")


def _is_table_rule(line: str) -> bool:
    return "|" in line[1:] and bool(_RULE_CHARS.fullmatch(line))
# A sentence ends at . ! ? followed by space and a capital: "3.0 bar" or "e.g. water" do not.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"(])")
# Sections whose content is bookkeeping, not something an operator does.
_SKIPPED_SECTIONS = re.compile(r"revision|history|references|change log|approvals?|distribution"
                               r"|attachments?|appendix", re.IGNORECASE)
_CODE_CELL = re.compile(r"^[A-Z]{1,4}-?\d{1,4}$")
_ALARM_WORDS = ("alarm", "error", "fault", "message", "warning", "code")


@dataclass
class Step:
    section: str
    number: int
    text: str  # the step's first line (continuation lines not included)
    start: int
    end: int


@dataclass
class Sentence:
    section: str
    text: str
    start: int
    end: int


@dataclass
class Table:
    section: str
    header: list[str]
    rows: list[TableRow] = field(default_factory=list)

    @property
    def is_alarm_table(self) -> bool:
        """A table of codes (E-22, A12) whose header speaks of alarms, errors or messages."""
        header = " ".join(self.header).lower()
        return (len(self.rows) >= 3 and all(_CODE_CELL.match(r.cells[0]) for r in self.rows)
                and any(word in header for word in _ALARM_WORDS))


@dataclass
class TableRow:
    cells: list[str]
    text: str
    start: int
    end: int


@dataclass
class Structure:
    sections: list[str] = field(default_factory=list)
    steps: list[list[Step]] = field(default_factory=list)  # runs of consecutive numbered steps
    sentences: list[Sentence] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.steps or self.sentences or self.tables)


def is_code(cell: str) -> bool:
    return bool(_CODE_CELL.match(cell.strip()))


def split_cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse(text: str) -> Structure:
    structure = Structure()
    for section, start, end in section_spans(text):
        structure.sections.append(section)
        if _SKIPPED_SECTIONS.search(section.split(" > ")[-1] if section else ""):
            continue
        _parse_section(text, section, start, end, structure)
    return structure


def _parse_section(text: str, section: str, start: int, end: int, out: Structure) -> None:
    offset = start
    run: list[Step] = []
    table: Table | None = None
    paragraph: tuple[int, int] | None = None

    def flush_paragraph() -> None:
        nonlocal paragraph
        if paragraph:
            _add_sentences(text, section, *paragraph, out)
        paragraph = None

    for line in text[start:end].splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        line_end = offset + len(bare)
        indent = len(bare) - len(bare.lstrip())
        stripped = bare.strip()
        if _TABLE_ROW.match(bare):
            flush_paragraph()
            if table is None:
                table = Table(section, split_cells(bare))
                out.tables.append(table)
            elif not _is_table_rule(bare):
                table.rows.append(TableRow(split_cells(bare), stripped, offset + indent, line_end))
        else:
            table = None
            numbered = _NUMBERED.match(stripped) if indent < 2 else None
            if numbered:
                flush_paragraph()
                number = int(numbered.group(1))
                if run and number != run[-1].number + 1:
                    out.steps.append(run)
                    run = []
                body_start = offset + indent + numbered.start(2)
                run.append(Step(section, number, numbered.group(2).strip(), body_start, line_end))
                _add_sentences(text, section, body_start, line_end, out)
            elif item := _LIST.match(bare):
                flush_paragraph()
                body = item.end()
                _add_sentences(text, section, offset + body, line_end, out)
            elif not stripped:
                flush_paragraph()
            elif indent >= 2 and run:
                pass  # continuation of a numbered step: kept with the step, not a sentence
            else:
                if run and indent < 2:
                    out.steps.append(run)
                    run = []
                paragraph = (paragraph[0], line_end) if paragraph else (offset + indent, line_end)
        offset += len(line)
    flush_paragraph()
    if run:
        out.steps.append(run)


def _add_sentences(text: str, section: str, start: int, end: int, out: Structure) -> None:
    cuts = [start] + [start + m.end() for m in _SENTENCE_END.finditer(text[start:end])] + [end]
    for begin, finish in zip(cuts, cuts[1:]):
        piece = text[begin:finish]
        lead = len(piece) - len(piece.lstrip())
        body = piece.strip()
        if len(body) >= 12 and "\n" not in body:
            out.sentences.append(Sentence(section, body, begin + lead, begin + lead + len(body)))
