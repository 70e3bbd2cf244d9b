"""Checking a drafted text against the controlled documents: the grounding verifier as a tool
for QA (a work instruction or a deviation narrative, sentence by sentence).

Shared by `copilot verify` (copilot/cli/verify.py) and `Copilot.check_text` (the UI's "Check a
text" panel). It is the verifier the answers use: every quantity with its unit, every code,
negations, quantifiers, who does what. A sentence is checked against

  * the passage given with it (the CLI's `{"claim", "passage"}` lines), or
  * the effective revision of the documents it cites (`[DOC_ID]` in the text) or of the one
    document named for the whole text (`doc_id`), or
  * when neither is given and the checker may search (`search=True`, the API), the passages
    of effective documents the role may see that match it best.

Documents come from the knowledge base as the role may see them: a document the role may not
see is refused with the same message as one that does not exist, and search is filtered by
the role, so a restricted document is never used or quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from knowledge import Document, Hit, KnowledgeBase, SearchFilter

from .errors import AccessDeniedError, CopilotError
from .grounding import (
    GroundingVerifier,
    PreparedPassages,
    SentenceCheck,
    content_words,
    split_sentences,
    strip_citations,
)
from .pipeline import MAX_DESCRIPTION_CHARS
from .quantities import quantities_in

# "[SOP-STE-001]" or "[MAN-AC-02]": a document id cited in the text (not a [1] marker).
DOC_CITATION = re.compile(r"\[([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+)\]")
CANDIDATE_CHUNKS = 5  # chunks of a document a sentence is verified against, best first
MAX_DOC_ID_CHARS = 200  # a document id as given by a user or an API client
SEARCH_HITS = 5  # passages a sentence with no document is verified against, when searching
NO_CITATION = "no citation"
NO_MATCH = "no passage of the effective documents you may see matches this sentence"


class TextCheckError(CopilotError):
    """The text, or a document it names, cannot be checked (the message says why)."""


class DocumentNotVisibleError(TextCheckError, AccessDeniedError):
    """A document that is not indexed, or that the role may not see: one message for both, so
    a role is not told that a document it may not see exists (`indexed` is for the audit)."""

    def __init__(self, doc_id: str, role: str, indexed: bool) -> None:
        self.doc_id, self.role, self.indexed = doc_id, role, indexed
        super().__init__(f"document {doc_id} is not among the documents role {role!r} may see")


class CheckedSentence(BaseModel):
    """One sentence of a checked text: the verifier's verdict in short, and the passage it was
    judged against (when one was). An answer's sentences are `copilot.SentenceCheck`."""
    text: str
    supported: bool
    reason: str
    missing_terms: list[str] = []
    similarity: float = 0.0
    coverage: float = 0.0
    doc: str | None = None
    revision: str | None = None
    section: str | None = None
    chunk_id: str | None = None
    passage: str | None = None  # the passage's verbatim text


class TextCheck(BaseModel):
    supported: bool
    reasons: list[str]
    sentences: list[CheckedSentence]
    doc: str | None = None  # the document named for the whole text, if one was


@dataclass
class DocumentPassages:
    doc_id: str
    revision: str
    chunks: list  # catalog rows: chunk_id, section, text
    prepared: PreparedPassages


class ClaimChecker:
    """One role's checks (build one per request: documents are cached for its lifetime)."""

    def __init__(self, kb: KnowledgeBase | None, verifier: GroundingVerifier, role: str,
                 search: bool = False) -> None:
        self.kb, self.verifier, self.role, self.search = kb, verifier, role, search
        self._docs: dict[str, DocumentPassages] = {}

    def document(self, doc_id: str) -> DocumentPassages:
        """The chunks of the document's effective revision, if the role may see it."""
        if doc_id in self._docs:
            return self._docs[doc_id]
        if self.kb is None:
            raise TextCheckError("no knowledge base to look documents up in")
        doc = self.kb.document(doc_id)
        if doc is None or self.role not in doc.access:
            raise DocumentNotVisibleError(doc_id, self.role, indexed=doc is not None)
        if doc.status != "effective":
            raise TextCheckError(f"document {doc_id} has no effective revision (newest: "
                                 f"rev {doc.revision}, {doc.status})")
        rows = self.kb.catalog.chunks_by_id(self.kb.catalog.chunk_ids_of(doc.source))
        chunks = [r for r in sorted(rows.values(), key=lambda r: r["start"])
                  if not r["quarantined"]]
        if not chunks:
            raise TextCheckError(f"document {doc_id} has no searchable text")
        passages = DocumentPassages(doc.doc_id, doc.revision, chunks,
                                    self.verifier.prepare([r["text"] for r in chunks]))
        self._docs[doc_id] = passages
        return passages

    def check(self, claim: str, passage: str | None = None, doc_id: str | None = None,
              with_passages: bool = False) -> dict:
        """{"supported", "reasons", "sentences"}; each sentence {"text", "supported",
        "reason", ...} and, when judged against a document, "doc", "revision", "section",
        "chunk_id" (and "passage", the chunk's text, with `with_passages`)."""
        if not isinstance(claim, str) or not claim.strip():
            raise TextCheckError("the claim is empty or not text")
        if len(claim) > MAX_DESCRIPTION_CHARS:
            raise TextCheckError(f"the claim is {len(claim)} characters long; the limit is "
                                 f"{MAX_DESCRIPTION_CHARS}")
        sentences = []
        for sentence in split_sentences(claim):
            cited = DOC_CITATION.findall(sentence)
            text = strip_citations(DOC_CITATION.sub(" ", sentence)).strip()
            text = re.sub(r"\s+([.!?;:,])", r"\1", text)  # "clean side [SOP-X]." -> "side."
            if passage is not None:
                result = self._against_passage(text, passage)
            elif cited or doc_id:
                docs = [self.document(d) for d in dict.fromkeys(cited or [doc_id])]
                result = self._against_documents(text, docs)
            elif self.search and self.kb is not None:
                result = self._against_search(text)
            else:
                result = {"text": text, "supported": False, "reason": NO_CITATION}
            if not with_passages:
                result.pop("passage", None)
            sentences.append(result)
        reasons = [s["reason"] for s in sentences if not s["supported"]]
        return {"supported": bool(sentences) and not reasons, "reasons": reasons,
                "sentences": sentences}

    def check_text(self, text: str, doc_id: str | None = None) -> TextCheck:
        """The check as a model, with each sentence's passage: what a UI shows."""
        result = self.check(text, doc_id=doc_id, with_passages=True)
        return TextCheck.model_validate({**result, "doc": doc_id})

    def _against_passage(self, text: str, passage: str) -> dict:
        [verdict] = self.verifier.verify(f"{text} [1]", [passage])
        return _sentence(text, verdict)

    def _against_documents(self, text: str, docs: list[DocumentPassages]) -> dict:
        """Supported when one chunk of a cited document supports the sentence; otherwise the
        verdict of the closest chunk says why not."""
        best: tuple[tuple, SentenceCheck, DocumentPassages, Any] | None = None
        for doc in docs:
            for n in _candidates(text, doc.chunks):
                [verdict] = self.verifier.verify(f"{text} [{n}]", doc.prepared)
                key = (verdict.supported, -len(verdict.missing_terms), verdict.similarity)
                if best is None or key > best[0]:
                    best = (key, verdict, doc, doc.chunks[n - 1])
                if verdict.supported:
                    break
            if best and best[1].supported:
                break
        assert best is not None, "no chunk to check against"
        _, verdict, doc, chunk = best
        return {**_sentence(text, verdict), "doc": doc.doc_id, "revision": doc.revision,
                "section": chunk["section"], "chunk_id": chunk["chunk_id"],
                "passage": chunk["text"]}

    def _against_search(self, text: str) -> dict:
        """The best of the passages search finds for the sentence among the effective
        documents the role may see (search filters by role; a revision named in the text
        must not bring in a draft, so only effective hits are kept)."""
        if len(content_words(text)) == 0:
            return {"text": text, "supported": False, "reason": NO_MATCH}
        assert self.kb is not None  # a checker that may search has a knowledge base
        found = self.kb.search(text, k=SEARCH_HITS, filters=SearchFilter(role=self.role))
        hits = [h for h in found
                if h.status == "effective" and self.role in h.access and not h.quarantined]
        if not hits:
            return {"text": text, "supported": False, "reason": NO_MATCH}
        prepared = self.verifier.prepare([h.text for h in hits])
        best: tuple[tuple, SentenceCheck, Hit] | None = None
        for n, hit in enumerate(hits, start=1):
            [verdict] = self.verifier.verify(f"{text} [{n}]", prepared)
            key = (verdict.supported, -len(verdict.missing_terms), verdict.similarity)
            if best is None or key > best[0]:
                best = (key, verdict, hit)
            if verdict.supported:
                break
        assert best is not None  # hits is not empty
        _, verdict, hit = best
        return {**_sentence(text, verdict), "doc": hit.doc_id, "revision": hit.revision,
                "section": hit.section, "chunk_id": hit.chunk_id, "passage": hit.text}


def checkable_documents(kb: KnowledgeBase, role: str) -> list[Document]:
    """The documents a text can be checked against for `role`: effective revisions the role
    may see, one per document id, in id order."""
    docs = {d.doc_id: d for d, chunks in kb.documents()
            if chunks and d.status == "effective" and role in d.access}
    return [docs[k] for k in sorted(docs)]


def _candidates(text: str, chunks: list) -> list[int]:
    """1-based indexes of the chunks most likely to state the sentence: shared words, and
    shared numbers counted double (a value is what a QA check is most often about)."""
    words = content_words(text)
    values = {q.value for q in quantities_in(text)}

    def score(row) -> float:
        chunk_values = {q.value for q in quantities_in(row["text"])}
        return len(words & content_words(row["text"])) + 2 * len(values & chunk_values)

    ranked = sorted(range(len(chunks)), key=lambda i: score(chunks[i]), reverse=True)
    return [i + 1 for i in ranked[:CANDIDATE_CHUNKS]]


def _sentence(text: str, verdict: SentenceCheck) -> dict:
    return {"text": text, "supported": verdict.supported, "reason": verdict.reason,
            "missing_terms": verdict.missing_terms, "similarity": round(verdict.similarity, 3),
            "coverage": round(verdict.coverage, 3)}


__all__ = ["CANDIDATE_CHUNKS", "ClaimChecker", "DOC_CITATION", "DocumentNotVisibleError",
           "MAX_DOC_ID_CHARS",
           "CheckedSentence", "TextCheck", "TextCheckError",
           "checkable_documents"]
