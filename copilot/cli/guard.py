"""`copilot guard scan`: the guardrails' verdicts on texts, as JSON, for checking from outside.

    copilot guard scan --json "TEXT" [--role trainer]   one JSON object
    copilot guard scan --jsonl FILE [--role qa]         one {"id","text"[,"role"]} per line in,
                                                        one object per line out

Per text: `pii` spans {start,end,type,score}, the `redacted` text, `injection` {flagged, score}
and `policy` {action, rule, role}: the site policy as asked by `role` (a line's own "role"
overrides --role; none: the strictest reading). Models load once per batch. A bad line
(invalid JSON, no text, unknown role) gives an error object for that line and the batch goes on.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from guardrails import ROLES

from ..build import build_guard_scanner
from ..settings import Settings

ROLE_HELP = (f"the asking role for the policy check ({', '.join(ROLES)}); a JSONL line's "
             f"own \"role\" overrides it; none: the strictest reading")
guard_app = typer.Typer(help="Run the guardrails on texts and print their verdicts as JSON.",
                        no_args_is_help=True)


@guard_app.command("scan")
def scan(text: Annotated[str | None, typer.Option(
             "--json", help="one text; prints one JSON object")] = None,
         jsonl: Annotated[Path | None, typer.Option(
             "--jsonl", help="file of {\"id\",\"text\"} lines ('-' for stdin)")] = None,
         role: Annotated[str | None, typer.Option("--role", help=ROLE_HELP)] = None) -> None:
    """Print PII spans, the redacted text, the injection verdict and the policy action."""
    if (text is None) == (jsonl is None):
        typer.echo("error: give exactly one of --json TEXT or --jsonl FILE", err=True)
        raise typer.Exit(2)
    if role is not None and role not in ROLES:
        typer.echo(f"error: unknown role {role!r}; roles: {', '.join(ROLES)}", err=True)
        raise typer.Exit(2)
    if jsonl is not None and str(jsonl) != "-" and not jsonl.is_file():
        typer.echo(f"error: {jsonl}: no such file", err=True)
        raise typer.Exit(2)
    scanner = build_guard_scanner(Settings())
    if text is not None:
        print(json.dumps(scanner.scan(text, role), ensure_ascii=False))
        return
    lines = sys.stdin if str(jsonl) == "-" else jsonl.open(encoding="utf-8")  # type: ignore[union-attr]
    with lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                print(json.dumps(scanner.scan_line(line, number, role), ensure_ascii=False),
                      flush=True)
