"""Load source files into `Document`s. One function per format; heavy parsers imported lazily.

Every format is turned into Markdown-like text (headings as `#`, tables as pipe rows) so one
structure-aware chunker serves them all, and spans always index into `Document.text`.
"""

from __future__ import annotations

import html.parser
import io
import re
from pathlib import Path

import yaml

from .documents import Document, content_hash, normalise_metadata
from .errors import DocumentError, MissingDependencyError

MAX_FILE_BYTES = 50 * 1024 * 1024
SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm")

_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*\r?\n", re.DOTALL)


def load_document(path: Path | str, max_bytes: int = MAX_FILE_BYTES) -> Document:
    """Read one file. Raises `DocumentError` naming the file and the reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DocumentError(path, f"unsupported file type {suffix or '(none)'!r}; "
                                  f"supported: {', '.join(SUPPORTED_SUFFIXES)}")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DocumentError(path, f"cannot read file: {exc.strerror or exc}") from exc
    if size == 0:
        raise DocumentError(path, "file is empty")
    if size > max_bytes:
        raise DocumentError(path, f"file is {size / 1e6:.0f} MB, over the "
                                  f"{max_bytes / 1e6:.0f} MB limit")
    data = path.read_bytes()
    if suffix in (".md", ".markdown", ".txt"):
        meta, text = _split_front_matter(path, _decode_text(path, data))
        pages: tuple = ()
    elif suffix == ".pdf":
        meta, (text, pages) = {}, _pdf_text(path, data)
    elif suffix == ".docx":
        meta, text, pages = {}, _docx_text(path, data), ()
    else:
        meta, text, pages = {}, _html_text(_decode_text(path, data)), ()
    if not text.strip():
        raise DocumentError(path, "no text could be extracted (empty or image-only document)")
    fields = normalise_metadata(meta, path, text)
    return Document(text=text, source=str(path), content_hash=content_hash(data),
                    pages=tuple(pages), **fields)


def _decode_text(path: Path, data: bytes) -> str:
    if b"\x00" in data[:8192]:
        raise DocumentError(path, "binary content in a text file (NUL bytes found)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentError(path, f"not valid UTF-8 text (byte 0x{data[exc.start]:02X} at offset "
                                  f"{exc.start}); save it as UTF-8") from exc


def _split_front_matter(path: Path, text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise DocumentError(path, f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise DocumentError(path, "front matter must be a YAML mapping")
    return meta, text[match.end():]


def _pdf_text(path: Path, data: bytes) -> tuple[str, list[tuple[int, int]]]:
    try:
        import pypdf
    except ImportError as exc:  # pragma: no cover - dependency of the package
        raise MissingDependencyError("pypdf", "pip install pypdf") from exc
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(path, "PDF is encrypted; provide an unprotected copy")
        parts, pages, offset = [], [], 0
        for number, page in enumerate(reader.pages, start=1):
            page_text = (page.extract_text() or "").strip()
            pages.append((offset, number))
            parts.append(page_text)
            offset += len(page_text) + 2
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many types for damaged files
        raise DocumentError(path, f"PDF could not be parsed ({type(exc).__name__}: {exc})") from exc
    return "\n\n".join(parts), pages


def _docx_text(path: Path, data: bytes) -> str:
    try:
        import docx
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError("python-docx", "pip install python-docx") from exc
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise DocumentError(path, f"DOCX could not be opened ({type(exc).__name__}: {exc})") from exc
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            paragraph = docx.text.paragraph.Paragraph(child, document)
            text = paragraph.text.strip()
            if not text:
                continue
            style = (paragraph.style.name or "").lower() if paragraph.style else ""
            level = re.match(r"heading (\d)", style)
            if level:
                lines.append(f"{'#' * int(level.group(1))} {text}")
            elif style == "title":
                lines.append(f"# {text}")
            else:
                lines.append(text)
            lines.append("")
        elif tag == "tbl":
            table = docx.table.Table(child, document)
            for i, row in enumerate(table.rows):
                cells = [c.text.replace("|", "/").replace("\n", " ").strip() for c in row.cells]
                lines.append("| " + " | ".join(cells) + " |")
                if i == 0:
                    lines.append("|" + " --- |" * len(cells))
            lines.append("")
    return "\n".join(lines)


class _HtmlToMarkdown(html.parser.HTMLParser):
    """Just enough HTML: headings, paragraphs, list items and table rows."""

    _BLOCKS = {"p", "div", "section", "article", "br", "ul", "ol", "table", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.row: list[str] | None = None
        self.cell: list[str] | None = None
        self.rows_in_table = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "nav"):
            self.skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.out.append("\n\n" + "#" * int(tag[1]) + " ")
        elif tag == "li":
            self.out.append("\n- ")
        elif tag == "tr":
            self.row = []
        elif tag in ("td", "th"):
            self.cell = []
        elif tag == "table":
            self.rows_in_table = 0
            self.out.append("\n\n")
        elif tag in self._BLOCKS:
            self.out.append("\n\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "nav"):
            self.skip = max(0, self.skip - 1)
        elif tag in ("td", "th") and self.cell is not None and self.row is not None:
            self.row.append(" ".join("".join(self.cell).split()).replace("|", "/"))
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.out.append("| " + " | ".join(self.row) + " |\n")
            if self.rows_in_table == 0:
                self.out.append("|" + " --- |" * len(self.row) + "\n")
            self.rows_in_table += 1
            self.row = None
        elif re.fullmatch(r"h[1-6]", tag) or tag in self._BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data):
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        else:
            self.out.append(" ".join(data.split()) + (" " if data[-1:].isspace() else ""))


def _html_text(source: str) -> str:
    parser = _HtmlToMarkdown()
    parser.feed(source)
    text = "".join(parser.out)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
