"""Which training content a role may see.

The rule is the one retrieval and the source viewer apply (knowledge's `_row_passes`,
`copilot/sources.py`): a role sees a document when the role is in the document's `access`.
A quiz item quotes its document verbatim and carries the answer, so it is exactly as
restricted as the document.

Access is looked up in the catalog on every request instead of being copied onto the module
when it is built: a document whose access is narrowed by a new revision (or a re-ingest)
takes its modules, items, records and gaps with it at once.
"""

from __future__ import annotations

from knowledge import Document, KnowledgeBase


def admits(doc: Document, role: str) -> bool:
    return role in doc.access


class DocumentAccess:
    """One role's view of the catalog, for one request (lookups are cached, so build a new
    one per call to see access changes)."""

    def __init__(self, kb: KnowledgeBase, role: str) -> None:
        self.kb = kb
        self.role = role
        self._docs: dict[tuple[str, str | None], Document | None] = {}

    def _document(self, doc_id: str, revision: str | None = None) -> Document | None:
        key = (doc_id, revision)
        if key not in self._docs:
            self._docs[key] = self.kb.document(doc_id, revision)
        return self._docs[key]

    def may_see(self, doc_id: str, revision: str | None = None) -> bool:
        """The document as it stands now (its effective revision, else its newest) and, when
        given, the revision an item quotes must both admit the role. A document that is no
        longer indexed admits nobody: its access cannot be known, so its items stay hidden."""
        current = self._document(doc_id)
        if current is None or not admits(current, self.role):
            return False
        if revision and revision != current.revision:
            cited = self._document(doc_id, revision)
            if cited is not None and not admits(cited, self.role):
                return False
        return True

    def title(self, doc_id: str) -> str:
        """The document's title, or "" when the role may not see it (titles are content)."""
        doc = self._document(doc_id)
        return doc.title if doc is not None and self.may_see(doc_id) else ""


__all__ = ["DocumentAccess", "admits"]
