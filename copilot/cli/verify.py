"""`copilot verify`: the grounding verifier as a tool for QA, a thin adapter over
`copilot.text_check` (which the UI's "Check a text" panel uses too, through the API).

Checks a drafted work instruction or deviation narrative against the controlled documents
with the same verifier the answers use: every quantity with its unit, every code, negations,
quantifiers, who does what. A sentence is checked against the passage given with it, or
against the effective revision of a document (`--doc DOC_ID`, or `[DOC_ID]` citations in the
text), whose chunks come from the knowledge base the role may see.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..text_check import DOC_CITATION, ClaimChecker, TextCheckError

EXIT_OK, EXIT_LINE_ERROR, EXIT_USAGE = 0, 1, 2
# A bad input line or a document the claim cannot be checked against.
LineError = TextCheckError


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
    assert text is not None  # given exactly one of TEXT and --jsonl
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
    from ..build import build_embedder, build_knowledge_base, build_verifier
    from ..settings import Settings
    settings = Settings()
    if needs_kb:
        kb = build_knowledge_base(settings)
        embedder = kb.embedder
    else:  # a claim with its own passage needs no knowledge base, only the embedder
        kb, embedder = None, build_embedder(settings.embedder)
    return ClaimChecker(kb, build_verifier(settings, embedder), role)


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
