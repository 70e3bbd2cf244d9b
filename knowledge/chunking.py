"""Structure-aware chunking of Markdown-like text.

Chunks follow the document's structure: they never cross a heading, a numbered step is never
split from its sub-points, and a long table is split between rows with its header carried in
the chunk's context. Every chunk records its exact character span in `Document.text`, so a
citation can be shown in place and a quote can be checked against the source.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from .documents import Document, heading_name

# A heading line; its name is cut from group 2 by `documents.heading_name`, not by the regex
# (`(.+?)[ \t]*#*[ \t]*$` was cubic on a long heading line: see there).
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+)$")
_HEADING_1 = re.compile(r"^#[ \t]+\S", re.MULTILINE)
_LIST_ITEM = re.compile(r"^([ \t]*)(\d+[.)]|[-*+]|[a-z][.)])[ \t]+")
_TABLE_ROW = re.compile(r"^[ \t]*\|")
# A table's rule line: only blanks, colons, pipes and dashes, with a pipe after the first
# character. Said with a lookahead so a long row of pipes is read once, not once per pipe
# (the form `\|?[ \t:|-]+\|[ \t:|-]*$` was quadratic: 20,000 pipes took 7 s).
_TABLE_RULE = re.compile(r"^(?=[ \t:|-]*$)[ \t:|-]+?\|")
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+(?=[A-Z0-9(\"'])")


def approx_tokens(text: str) -> int:
    """Word-piece estimate for English technical text (MiniLM splits codes and units)."""
    return int(len(re.findall(r"\w+|[^\w\s]", text)) * 1.1) + 1


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_key: str
    section: str
    text: str  # exactly Document.text[start:end]
    start: int
    end: int
    context: str  # title, section path and (for tables) the header row; prepended when embedding
    ordinal: int
    page: int | None = None

    @property
    def embed_text(self) -> str:
        return f"{self.context}\n{self.text}"


@dataclass
class _Block:
    start: int
    end: int
    kind: str  # para | item | table
    table_header: str = ""


def section_spans(text: str) -> list[tuple[str, int, int]]:
    """(section name, body start, body end) per non-empty section body, the name as chunks
    carry it ("6 Procedure > 6.4 Running ...")."""
    single_title = len(_HEADING_1.findall(text)) == 1
    # The one `#` heading is the document's title: it adds nothing to a section path.
    return [(" > ".join(path[1:] if single_title and len(path) > 1 else path), start, end)
            for path, start, end in _sections(text)]


def _sections(text: str) -> list[tuple[list[str], int, int]]:
    """(heading path, body start, body end) for each heading's body; text before any heading too."""
    result: list[tuple[list[str], int, int]] = []
    path: list[tuple[int, str]] = []
    body_start = 0
    offset = 0
    in_code = False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            in_code = not in_code
        match = None if in_code else _HEADING.match(line.rstrip("\r\n"))
        if match:
            result.append(([name for _, name in path], body_start, offset))
            level = len(match.group(1))
            path = [(lvl, name) for lvl, name in path if lvl < level] + [
                (level, heading_name(match.group(2), " \t"))]
            body_start = offset + len(line)
        offset += len(line)
    result.append(([name for _, name in path], body_start, len(text)))
    return [(p, s, e) for p, s, e in result if text[s:e].strip()]


def _blocks(text: str, start: int, end: int) -> list[_Block]:
    """Paragraphs, list items (with their indented continuation) and tables."""
    blocks: list[_Block] = []
    offset = start
    current: _Block | None = None
    header = ""
    for line in text[start:end].splitlines(keepends=True):
        stripped = line.strip()
        line_end = offset + len(line.rstrip("\r\n"))
        if not stripped:
            if current and current.kind != "item":
                current = None
        elif _TABLE_ROW.match(line):
            if current is None or current.kind != "table":
                header = ""
                current = _Block(offset, line_end, "table")
                blocks.append(current)
            elif not header and _TABLE_RULE.match(line):
                current.end = line_end
                header = text[current.start:line_end]
            elif header:
                # One block per data row: a table split over chunks breaks only between rows,
                # and each row block carries the header for the chunk's context.
                current = _Block(offset, line_end, "table", header)
                blocks.append(current)
            else:
                current.end = line_end
        elif (item := _LIST_ITEM.match(line)) and len(item.group(1)) < 2:
            current = _Block(offset + len(line) - len(line.lstrip()), line_end, "item")
            blocks.append(current)
        elif current and (current.kind == "item" and (line[:1] in " \t") or current.kind == "para"):
            current.end = line_end
        else:
            current = _Block(offset + len(line) - len(line.lstrip()), line_end, "para")
            blocks.append(current)
        offset += len(line)
    return blocks


def _split_long(text: str, block: _Block, max_tokens: int, count: Callable[[str], int]) -> list[_Block]:
    """A single block over budget (a very long paragraph) is cut at sentence ends."""
    pieces: list[_Block] = []
    start = block.start
    cut_points = [block.start + m.start() for m in _SENTENCE_END.finditer(text[block.start:block.end])]
    last_ok = None
    for cut in cut_points + [block.end]:
        if count(text[start:cut]) > max_tokens and last_ok and last_ok > start:
            pieces.append(_Block(start, last_ok, block.kind, block.table_header))
            start = last_ok + len(text[last_ok:cut]) - len(text[last_ok:cut].lstrip())
        last_ok = cut
    pieces.append(_Block(start, block.end, block.kind, block.table_header))
    # Still too long without sentence ends (e.g. extracted PDF text): hard cut at whitespace.
    final: list[_Block] = []
    for piece in pieces:
        while count(text[piece.start:piece.end]) > max_tokens * 1.5:
            cut = text.rfind(" ", piece.start, piece.start + max_tokens * 4)
            if cut <= piece.start:
                cut = piece.start + max_tokens * 4
            final.append(_Block(piece.start, cut, piece.kind, piece.table_header))
            piece = _Block(cut + 1, piece.end, piece.kind, piece.table_header)
        final.append(piece)
    return final


def chunk_document(doc: Document, max_tokens: int = 220,
                   count: Callable[[str], int] = approx_tokens,
                   table_max_tokens: int | None = None) -> list[Chunk]:
    """Split a document into chunks of at most about `max_tokens` word pieces.

    Tables may get their own budget (`table_max_tokens`); measured on the demo set, a half
    budget for tables lost recall, so by default they share the section budget.
    """
    table_budget = table_max_tokens or max_tokens
    text = doc.text
    chunks: list[Chunk] = []
    for section, sec_start, sec_end in section_spans(text):
        blocks: list[_Block] = []
        for found in _blocks(text, sec_start, sec_end):
            if count(text[found.start:found.end]) > max_tokens:
                blocks.extend(_split_long(text, found, max_tokens, count))
            else:
                blocks.append(found)
        group: list[_Block] = []
        block: _Block | None
        for block in [*blocks, None]:
            if block is not None and group:
                candidate = text[group[0].start:block.end]
                budget = table_budget if block.kind == "table" else max_tokens
                if count(candidate) <= budget:
                    group.append(block)
                    continue
            if group:
                chunks.append(_make_chunk(doc, section, group, len(chunks)))
            group = [block] if block is not None else []
    return chunks


def _make_chunk(doc: Document, section: str, group: list[_Block], ordinal: int) -> Chunk:
    start, end = group[0].start, group[-1].end
    text = doc.text[start:end]
    context = f"{doc.doc_id} {doc.title}" + (f" — {section}" if section else "")
    header = group[0].table_header
    if header and not text.startswith(header):
        context += "\n" + header
    digest = hashlib.sha1(f"{doc.key}|{start}|{end}|{text}".encode()).hexdigest()[:12]
    return Chunk(
        chunk_id=f"{doc.key}#{ordinal}-{digest}",
        doc_key=doc.key,
        section=section,
        text=text,
        start=start,
        end=end,
        context=context,
        ordinal=ordinal,
        page=doc.page_at(start),
    )
