"""Load source files into `Document`s. One function per format; heavy parsers imported lazily.

Every format is turned into Markdown-like text (headings as `#`, tables as pipe rows) so one
structure-aware chunker serves them all, and spans always index into `Document.text`.
"""

from __future__ import annotations

import html.parser
import io
import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

from .documents import Document, content_hash, normalise_metadata
from .errors import DocumentError, DocumentLimitError, MissingDependencyError
from .front_matter import split_front_matter

MAX_FILE_BYTES = 50 * 1024 * 1024
SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".pdf", ".docx", ".html", ".htm")
TEXT_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm")
# Text is not compressed, so its size is what every later step reads. The largest document in
# the shared corpus is 185 KB; 10 MB is over 50 times that.
MAX_TEXT_BYTES = 10_000_000

# A DOCX is a zip: its 50 MB file limit says little about what it inflates to (a 298 KB file
# held a 100 MB document.xml with 3 million paragraphs, 556 s and 1.7 GB to load: review F7d).
# The zip's own directory is checked before python-docx reads anything. zipfile never returns
# more than an entry's declared size (a lying header fails its CRC), so declared sizes are
# enough. Ordinary documents: 10-50 entries, XML parts a few MB, deflated 5-20 times.
MAX_DOCX_ENTRIES = 1000
MAX_DOCX_XML_BYTES = 16_000_000  # one XML part, inflated (lxml builds a tree of it)
MAX_DOCX_INFLATED_BYTES = 100_000_000  # all entries, images included
MAX_DOCX_RATIO = 100  # inflated / compressed, for entries over 1 MB inflated
MAX_DOCX_BLOCKS = 20_000  # paragraphs plus table cells read from the body


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
        raise DocumentLimitError(path, f"file is {size / 1e6:.0f} MB, over the "
                                       f"{max_bytes / 1e6:.0f} MB limit")
    if suffix in TEXT_SUFFIXES and size > MAX_TEXT_BYTES:
        raise DocumentLimitError(path, f"file is {size / 1e6:.1f} MB, over the "
                                       f"{MAX_TEXT_BYTES / 1e6:.1f} MB limit for text files")
    data = path.read_bytes()
    if suffix in (".md", ".markdown", ".txt"):
        meta, text = split_front_matter(path, _decode_text(path, data))
        pages: Sequence[tuple[int, int]] = ()
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
        import docx.table
        import docx.text.paragraph
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError("python-docx", "pip install python-docx") from exc
    _check_docx_package(path, data)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise DocumentError(path, f"DOCX could not be opened ({type(exc).__name__}: {exc})") from exc
    lines: list[str] = []
    body = document.element.body
    blocks = 0
    # Style id -> lower-case name. python-docx looks a style up by scanning styles.xml, 0.1 ms
    # each time, which was most of the time spent on a long document.
    style_names: dict[str | None, str] = {}
    for child in body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        # Even so a paragraph costs about 0.1 ms: the cap keeps one file to a few seconds.
        blocks += 1 if tag == "p" else len(child.findall(".//{*}tc")) if tag == "tbl" else 0
        if blocks > MAX_DOCX_BLOCKS:
            raise DocumentLimitError(path, f"DOCX has more than {MAX_DOCX_BLOCKS:,} paragraphs "
                                           f"and table cells")
        if tag == "p":
            paragraph = docx.text.paragraph.Paragraph(child, document)
            text = paragraph.text.strip()
            if not text:
                continue
            if child.style not in style_names:
                found = paragraph.style
                style_names[child.style] = (found.name or "").lower() if found else ""
            style = style_names[child.style]
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


def _check_docx_package(path: Path, data: bytes) -> None:
    """Refuse a DOCX whose zip directory promises too much, before anything is inflated."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            entries = package.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise DocumentError(path, f"DOCX could not be opened (BadZipFile: {exc})") from exc
    if len(entries) > MAX_DOCX_ENTRIES:
        raise DocumentLimitError(path, f"DOCX package has {len(entries):,} entries, over the "
                                       f"{MAX_DOCX_ENTRIES:,} limit")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_DOCX_INFLATED_BYTES:
        raise DocumentLimitError(path, f"DOCX inflates to {total / 1e6:.0f} MB, over the "
                                       f"{MAX_DOCX_INFLATED_BYTES / 1e6:.0f} MB limit")
    for entry in entries:
        name = entry.filename
        if name.endswith((".xml", ".rels")) and entry.file_size > MAX_DOCX_XML_BYTES:
            raise DocumentLimitError(path, f"DOCX part {name} inflates to "
                                           f"{entry.file_size / 1e6:.0f} MB, over the "
                                           f"{MAX_DOCX_XML_BYTES / 1e6:.0f} MB limit")
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > 1024 * 1024 and ratio > MAX_DOCX_RATIO:
            raise DocumentLimitError(path, f"DOCX part {name} inflates {ratio:.0f} times "
                                           f"({entry.compress_size:,} to {entry.file_size:,} "
                                           f"bytes), over the {MAX_DOCX_RATIO} limit: a zip bomb?")


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

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
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

    def handle_endtag(self, tag: str) -> None:
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

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.cell is not None:
            self.cell.append(data)
        else:
            self.out.append(" ".join(data.split()) + (" " if data[-1:].isspace() else ""))


# From the start of a blank run only: tried inside a long run of spaces ("<i> </i>" repeated
# gives one), `[ \t]+\n` rescanned the rest of the run from every position, quadratic.
_BLANKS_BEFORE_NEWLINE = re.compile(r"(?<![ \t])[ \t]+\n")


def _html_text(source: str) -> str:
    parser = _HtmlToMarkdown()
    parser.feed(source)
    text = "".join(parser.out)
    text = _BLANKS_BEFORE_NEWLINE.sub("\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
