"""Documents and their metadata: what a loader returns and the index stores.

A `Document` holds the body text that chunk spans point into, so the UI can show a cited
passage in its context and the evaluation can check quotes against the source.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from .errors import DocumentLimitError

DOC_TYPES = ("sop", "deviation", "manual", "regulation", "other")
# Front-matter keys other than the known ones ("owner", "supersedes"...), stored as "extra".
MAX_EXTRA_KEYS = 50
MAX_EXTRA_CHARS = 2000
STATUSES = ("effective", "superseded", "draft")
ROLES = ("operator", "supervisor", "qa", "trainer", "admin")


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    doc_type: str
    revision: str
    status: str
    text: str
    source: str
    content_hash: str
    effective_date: str = ""
    equipment: tuple[str, ...] = ()
    # Roles allowed to see the document; every role when the source says nothing.
    access: tuple[str, ...] = ROLES
    # (offset in text, page number) for formats with pages, e.g. PDF.
    pages: tuple[tuple[int, int], ...] = ()
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Identity of one revision of one document."""
        return f"{self.doc_id}@{self.revision}"

    def page_at(self, offset: int) -> int | None:
        page = None
        for start, number in self.pages:
            if start <= offset:
                page = number
        return page


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


_ID_IN_NAME = re.compile(r"^([A-Z]{2,6}(?:-[A-Z0-9]{1,6})*-\d{2,6})")
_TYPE_HINTS = (
    ("deviation", ("deviation", "root cause", "capa")),
    ("sop", ("standard operating procedure", "procedure", "purpose", "scope")),
    ("manual", ("manual", "troubleshooting", "alarm")),
    ("regulation", ("cfr", "regulation", "shall", "guidance")),
)
_FOLDER_TYPES = {
    "sops": "sop", "sop": "sop", "deviations": "deviation", "deviation": "deviation",
    "manuals": "manual", "manual": "manual", "regulations": "regulation",
}


def infer_doc_id(path: Path) -> str:
    """`SOP-QA-009_rev3.md` -> `SOP-QA-009`; otherwise the file stem."""
    match = _ID_IN_NAME.match(path.stem.upper())
    return match.group(1) if match else path.stem


def infer_doc_type(path: Path, text: str) -> str:
    for part in reversed(path.parts[:-1]):
        if part.lower() in _FOLDER_TYPES:
            return _FOLDER_TYPES[part.lower()]
    stem = path.stem.lower()
    for prefix, kind in (("sop", "sop"), ("dev", "deviation"), ("man", "manual"),
                         ("reg", "regulation"), ("guid", "regulation"), ("wl", "other")):
        if stem.startswith(prefix):
            return kind
    head = text[:4000].lower()
    scores = {kind: sum(head.count(word) for word in words) for kind, words in _TYPE_HINTS}
    best = max(scores, key=lambda k: scores[k])
    return best if scores[best] else "other"


# A Markdown heading line; `heading_name` cuts the name out of group 1 (see there).
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+)$")


def heading_name(rest: str, blanks: str | None = None) -> str:
    """A heading's name from the text after its `#`s and blanks: without trailing blanks and
    closing #s ("Scope ##  " -> "Scope"), never empty ("##" -> "#"), exactly what the regex
    `(.+?)\\s*#*\\s*$` captured. Written out because that regex could split a long run of
    blanks between its two `\\s*` in many ways, cubic: a 1,000-character heading line took 3 s,
    5,000 characters over 200 s (found while fixing review F7). `blanks` are the characters
    stripped (None: any whitespace, as `\\s`; the chunker passes " \t")."""
    name = rest.rstrip(blanks).rstrip("#").rstrip(blanks)
    return name or rest[:1]


def first_heading(text: str) -> str | None:
    for line in text.splitlines():
        match = _MD_HEADING.match(line)
        if match:
            return heading_name(match.group(1)).strip()
        if line.strip():
            # A short first line reads as a title in plain text files.
            stripped = line.strip()
            return stripped if len(stripped) <= 120 else None
    return None


def normalise_metadata(meta: dict[str, Any], path: Path, text: str) -> dict[str, Any]:
    """Fill gaps from the file name and content; coerce YAML values to plain strings."""
    doc_id = str(meta.get("doc_id") or meta.get("id") or infer_doc_id(path))
    title = str(meta.get("title") or first_heading(text) or path.stem)
    doc_type = str(meta.get("type") or meta.get("doc_type") or infer_doc_type(path, text)).lower()
    if doc_type not in DOC_TYPES:
        doc_type = "other"
    status = str(meta.get("status") or "effective").lower()
    if status not in STATUSES:
        status = "effective"
    eff = meta.get("effective_date") or ""
    if isinstance(eff, date):
        eff = eff.isoformat()
    equipment = meta.get("equipment") or ()
    if isinstance(equipment, str):
        equipment = [e.strip() for e in equipment.split(",") if e.strip()]
    access = meta.get("access") or ROLES
    if isinstance(access, str):
        access = [a.strip() for a in access.split(",") if a.strip()]
    access = tuple(str(a).lower() for a in access if str(a).lower() in ROLES) or ROLES
    known = {"doc_id", "id", "title", "type", "doc_type", "status", "effective_date",
             "equipment", "access", "revision"}
    extra = {str(k): str(v) for k, v in meta.items() if k not in known}
    # Unknown keys are kept as strings in the catalog, so they are bounded like the rest of
    # an upload (the front matter itself is capped in `front_matter`).
    if len(extra) > MAX_EXTRA_KEYS:
        raise DocumentLimitError(path, f"front matter has {len(extra)} keys the copilot does "
                                       f"not use, over the {MAX_EXTRA_KEYS} limit")
    for key, value in extra.items():
        if len(key) + len(value) > MAX_EXTRA_CHARS:
            raise DocumentLimitError(path, f"front matter key {key[:40]!r} is {len(value):,} "
                                           f"characters, over the {MAX_EXTRA_CHARS:,} limit "
                                           f"for keys the copilot does not use")
    return {
        "doc_id": doc_id,
        "title": title,
        "doc_type": doc_type,
        "revision": str(meta.get("revision") if meta.get("revision") is not None else "1"),
        "status": status,
        "effective_date": str(eff),
        "equipment": tuple(str(e) for e in equipment),
        "access": access,
        "extra": extra,
    }
