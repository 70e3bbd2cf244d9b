"""Opening a cited passage in its section (the UI's source viewer), and redacting personal
data from deviation reports for roles without a need to know.

Both sit on the same rule as retrieval: a role only ever receives passages of documents it
may see, so the viewer checks access again instead of trusting the chunk id it is given.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable

from pydantic import BaseModel

from guardrails import Scrubber, ScrubSession, roles_with
from knowledge import Hit, KnowledgeBase

from .errors import AccessDeniedError, CopilotError

# Deviation reports name the operators involved. QA investigates and admins administer; the
# other roles see those reports with people replaced by placeholders.
NEED_TO_KNOW_ROLES = roles_with("see_names_in_deviations")
_CONTEXT_CHARS = 2500  # section text shown either side of the passage, at most


class SourceView(BaseModel):
    chunk_id: str
    doc_id: str
    title: str
    revision: str
    status: str
    doc_type: str
    section: str
    page: int | None
    before: str
    passage: str
    after: str
    redacted: bool = False


def needs_redaction(doc_type: str, role: str) -> bool:
    return doc_type == "deviation" and role not in NEED_TO_KNOW_ROLES


def open_source(kb: KnowledgeBase, chunk_id: str, role: str,
                scrubber: Scrubber | None = None) -> SourceView:
    """The passage with the rest of its section around it, for a role allowed to see it."""
    row = kb.catalog.chunks_by_id([chunk_id]).get(chunk_id)
    if row is None:
        raise CopilotError(f"source passage {chunk_id!r} not found (re-indexed or removed)")
    if role not in json.loads(row["access"]):
        raise AccessDeniedError(f"role {role!r} may not see {row['doc_id']} rev {row['revision']}")
    doc = kb.document(row["doc_id"], row["revision"])
    if doc is None:
        raise CopilotError(f"{row['doc_id']} rev {row['revision']} is no longer indexed")
    # The section spans from the first to the last chunk that carries its heading.
    siblings = kb.catalog.chunks_by_id(kb.catalog.chunk_ids_of(row["source"])).values()
    same = [s for s in siblings if s["section"] == row["section"]] or [row]
    start = max(min(s["start"] for s in same), row["start"] - _CONTEXT_CHARS)
    end = min(max(s["end"] for s in same), row["end"] + _CONTEXT_CHARS)
    parts = [doc.text[start:row["start"]], doc.text[row["start"]:row["end"]],
             doc.text[row["end"]:end]]
    redact = needs_redaction(row["doc_type"], role)
    if redact:
        if scrubber is None:
            raise CopilotError("personal data in deviation reports cannot be redacted: the PII "
                               "scrubber is switched off (COPILOT_SCRUB_PII=false)")
        session = ScrubSession()
        parts = [scrubber.scrub(p, session=session).text if p.strip() else p for p in parts]
    return SourceView(chunk_id=chunk_id, doc_id=row["doc_id"], title=row["title"],
                      revision=row["revision"], status=row["status"], doc_type=row["doc_type"],
                      section=row["section"], page=row["page"], before=parts[0],
                      passage=parts[1], after=parts[2], redacted=redact)


def redacted_hits(hits: list[Hit], scrubber: Scrubber,
                  which: Callable[[Hit], bool]) -> list[Hit]:
    """`hits` with personal data scrubbed from the text of those `which` selects; one scrub
    session for all, so placeholders are consistent within one result list."""
    if not any(which(h) for h in hits):
        return hits
    session = ScrubSession()
    return [dataclasses.replace(h, text=scrubber.scrub(h.text, session=session).text)
            if which(h) else h for h in hits]


def deviation_redactor(scrubber: Scrubber | None) -> Callable[[list[Hit]], list[Hit]]:
    """For the answer pipeline: names in deviation passages never reach the model or a quote.
    Placeholders are consistent within one question's passages."""

    def redact(hits: list[Hit]) -> list[Hit]:
        if scrubber is None:
            return hits
        return redacted_hits(hits, scrubber, lambda h: h.doc_type == "deviation")

    return redact
