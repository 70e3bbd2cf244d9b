"""Similar past deviations, with their root cause and CAPA, cited."""

from __future__ import annotations

import re

from pydantic import BaseModel

from knowledge import Hit, KnowledgeBase, SearchFilter

from .answer import Citation


class DeviationMatch(BaseModel):
    doc_id: str
    title: str
    revision: str
    score: float
    root_cause: str
    capa: str
    citation: Citation


def section_text(text: str, heading: str) -> str:
    """Body of the first heading whose title contains `heading` (case-insensitive)."""
    match = re.search(rf"^(#+)[ \t]+[^\n]*{re.escape(heading)}[^\n]*$", text,
                      re.IGNORECASE | re.MULTILINE)
    if not match:
        return ""
    level = len(match.group(1))
    rest = text[match.end():]
    end = re.search(rf"^#{{1,{level}}}[ \t]", rest, re.MULTILINE)
    return rest[: end.start() if end else len(rest)].strip()


def similar_deviations(kb: KnowledgeBase, description: str, role: str | None,
                       k: int = 5) -> list[DeviationMatch]:
    hits = kb.search(description, k=40, filters=SearchFilter(role=role, doc_types=("deviation",)))
    best: dict[str, tuple[float, Hit]] = {}
    for hit in hits:
        if hit.doc_id not in best or hit.score > best[hit.doc_id][0]:
            best[hit.doc_id] = (hit.score, hit)
    matches = []
    for n, (score, hit) in enumerate(sorted(best.values(), key=lambda x: x[0], reverse=True)[:k],
                                     start=1):
        doc = kb.document(hit.doc_id, hit.revision)
        text = doc.text if doc else ""
        matches.append(DeviationMatch(
            doc_id=hit.doc_id, title=hit.title, revision=hit.revision, score=score,
            root_cause=section_text(text, "Root Cause"), capa=section_text(text, "CAPA"),
            citation=Citation.from_hit(n, hit)))
    return matches
