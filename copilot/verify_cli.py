"""`copilot verify`: the grounding verifier as a tool for QA.

Checks a drafted work instruction or deviation narrative against the controlled documents
with the same verifier the answers use: every quantity with its unit, every code, negations,
quantifiers, who does what. A sentence is checked against the passage given with it, or
against the effective revision of a document (`--doc DOC_ID`, or `[DOC_ID]` citations in the
text), whose chunks come from the knowledge base the role may see.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from knowledge import KnowledgeBase

from .answering import MAX_DESCRIPTION_CHARS
from .grounding import (GroundingVerifier, PreparedPassages, SentenceVerdict, content_words,
                        split_sentences, strip_citations)
from .quantities import quantities_in

EXIT_OK, EXIT_LINE_ERROR, EXIT_USAGE = 0, 1, 2
# "[SOP-STE-001]" or "[MAN-AC-02]": a document id cited in the text (not a [1] marker).
DOC_CITATION = re.compile(r"\[([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+)\]")
CANDIDATE_CHUNKS = 5  # chunks of a document a sentence is verified against, best first


class LineError(Exception):
    """A bad input line or a document the claim cannot be checked against."""


@dataclass
class DocumentPassages:
    doc_id: str
    revision: str
    chunks: list  # catalog rows: chunk_id, section, text
    prepared: PreparedPassages


class ClaimChecker:
    def __init__(self, kb: KnowledgeBase | None, verifier: GroundingVerifier, role: str) -> None:
        self.kb, self.verifier, self.role = kb, verifier, role
        self._docs: dict[str, DocumentPassages] = {}

    def document(self, doc_id: str) -> DocumentPassages:
        """The chunks of the document's effective revision, if the role may see it."""
        if doc_id in self._docs:
            return self._docs[doc_id]
        if self.kb is None:
            raise LineError("no knowledge base to look documents up in")
        doc = self.kb.document(doc_id)
        if doc is None or self.role not in doc.access:
            # One message for both: a role is not told that a document it may not see exists.
            raise LineError(f"document {doc_id} is not among the documents role "
                            f"{self.role!r} may see")
        if doc.status != "effective":
            raise LineError(f"document {doc_id} has no effective revision (newest: "
                            f"rev {doc.revision}, {doc.status})")
        rows = self.kb.catalog.chunks_by_id(self.kb.catalog.chunk_ids_of(doc.source))
        chunks = [r for r in sorted(rows.values(), key=lambda r: r["start"])
                  if not r["quarantined"]]
        if not chunks:
            raise LineError(f"document {doc_id} has no searchable text")
        passages = DocumentPassages(doc.doc_id, doc.revision, chunks,
                                    self.verifier.prepare([r["text"] for r in chunks]))
        self._docs[doc_id] = passages
        return passages

    def check(self, claim: str, passage: str | None = None, doc_id: str | None = None) -> dict:
        if not isinstance(claim, str) or not claim.strip():
            raise LineError("the claim is empty or not text")
        if len(claim) > MAX_DESCRIPTION_CHARS:
            raise LineError(f"the claim is {len(claim)} characters long; the limit is "
                            f"{MAX_DESCRIPTION_CHARS}")
        sentences = []
        for sentence in split_sentences(claim):
            cited = DOC_CITATION.findall(sentence)
            text = strip_citations(DOC_CITATION.sub(" ", sentence)).strip()
            text = re.sub(r"\s+([.!?;:,])", r"\1", text)  # "clean side [SOP-X]." -> "side."
            if passage is not None:
                sentences.append(self._against_passage(text, passage))
            elif cited or doc_id:
                docs = [self.document(d) for d in dict.fromkeys(cited or [doc_id])]
                sentences.append(self._against_documents(text, docs))
            else:
                sentences.append({"text": text, "supported": False, "reason": "no citation"})
        reasons = [s["reason"] for s in sentences if not s["supported"]]
        return {"supported": bool(sentences) and not reasons, "reasons": reasons,
                "sentences": sentences}

    def _against_passage(self, text: str, passage: str) -> dict:
        [verdict] = self.verifier.verify(f"{text} [1]", [passage])
        return _sentence(text, verdict)

    def _against_documents(self, text: str, docs: list[DocumentPassages]) -> dict:
        """Supported when one chunk of a cited document supports the sentence; otherwise the
        verdict of the closest chunk says why not."""
        best = None
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
        _, verdict, doc, chunk = best
        return {**_sentence(text, verdict), "doc": doc.doc_id, "revision": doc.revision,
                "section": chunk["section"], "chunk_id": chunk["chunk_id"]}


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


def _sentence(text: str, verdict: SentenceVerdict) -> dict:
    return {"text": text, "supported": verdict.supported, "reason": verdict.reason,
            "missing_terms": verdict.missing_terms, "similarity": round(verdict.similarity, 3),
            "coverage": round(verdict.coverage, 3)}


def check_line(checker: ClaimChecker, number: int, line: str) -> dict:
    """One JSONL input line to one output object; a bad line becomes an error object."""
    try:
        item = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"line": number, "error": f"not valid JSON: {exc.msg}"}
    if not isinstance(item, dict):
        return {"line": number, "error": "not a JSON object"}
    ident = item.get("id")
    try:
        if "claim" not in item:
            raise LineError("no \"claim\" field")
        passage, doc = item.get("passage"), item.get("doc")
        if passage is None and doc is None and not DOC_CITATION.search(str(item["claim"])):
            raise LineError("neither \"passage\" nor \"doc\" given, and no [DOC_ID] citation")
        if passage is not None and not isinstance(passage, str):
            raise LineError("\"passage\" must be text")
        if doc is not None and not isinstance(doc, str):
            raise LineError("\"doc\" must be a document id")
        return {"id": ident, **checker.check(item["claim"], passage=passage, doc_id=doc)}
    except LineError as exc:
        return {"id": ident, "line": number, "error": str(exc)}


def verify_command(
    text: Annotated[str | None, typer.Argument(help="the text to check; cite documents "
                                                    "inline as [DOC_ID] or use --doc")] = None,
    doc: Annotated[str | None, typer.Option("--doc", help="check against this document's "
                                                          "effective revision")] = None,
    jsonl: Annotated[Path | None, typer.Option("--jsonl", help="a file of lines {id, claim, "
                                               "passage} or {id, claim, doc}; - for stdin")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    role: Annotated[str, typer.Option("--role", help="look documents up as this role")] = "qa",
) -> None:
    """Check a text against the controlled documents with the answers' grounding verifier.

    Output per text or line: {"id", "supported", "reasons", "sentences"}; a bad line gives
    {"id", "line", "error"} and the batch goes on. Exit codes: 0 every line was checked
    (whether supported or not), 1 at least one line or the text could not be checked
    (bad line, unknown document, role may not see it), 2 bad usage.
    """
    if (text is None) == (jsonl is None):
        typer.echo("give either TEXT or --jsonl FILE", err=True)
        raise typer.Exit(EXIT_USAGE)
    checker = _checker(role, needs_kb=bool(doc or jsonl or DOC_CITATION.search(text or "")))
    if jsonl is not None:
        stream = sys.stdin if str(jsonl) == "-" else _open(jsonl)
        errors = 0
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            result = check_line(checker, number, line)
            errors += "error" in result
            typer.echo(json.dumps(result, ensure_ascii=False))
        raise typer.Exit(EXIT_LINE_ERROR if errors else EXIT_OK)
    try:
        result = {"id": None, **checker.check(text, doc_id=doc)}
    except LineError as exc:
        result = {"id": None, "error": str(exc)}
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        _print_human(result)
    raise typer.Exit(EXIT_LINE_ERROR if "error" in result else EXIT_OK)


def _checker(role: str, needs_kb: bool) -> ClaimChecker:
    from .api import Copilot
    from .settings import Settings
    settings = Settings()
    if needs_kb:
        kb = Copilot.from_settings(settings).kb
        embedder = kb.embedder
    else:  # a claim with its own passage needs no knowledge base, only the embedder
        from .build import build_embedder
        kb, embedder = None, build_embedder(settings.embedder)
    return ClaimChecker(kb, GroundingVerifier.from_settings(settings, embedder), role)


def _open(path: Path):
    try:
        return path.open(encoding="utf-8")
    except OSError as exc:
        typer.echo(f"cannot read {path}: {exc.strerror}", err=True)
        raise typer.Exit(EXIT_USAGE) from exc


def _print_human(result: dict) -> None:
    if "error" in result:
        typer.echo(f"error: {result['error']}", err=True)
        return
    for s in result["sentences"]:
        where = f" [{s['doc']} rev {s['revision']}, {s['section']}]" if s.get("doc") else ""
        mark = "supported" if s["supported"] else "NOT SUPPORTED"
        typer.echo(f"{mark}{where}: {s['text']}")
        if not s["supported"]:
            typer.echo(f"    {s['reason']}")
    typer.echo("all sentences supported" if result["supported"] else
               f"{len(result['reasons'])} sentence(s) not supported")


__all__ = ["ClaimChecker", "EXIT_LINE_ERROR", "EXIT_OK", "EXIT_USAGE", "check_line",
           "verify_command"]
