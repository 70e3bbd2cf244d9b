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

from guardrails import ROLES, InjectionDetector, PolicyChecker, PresidioScrubber, Scrubber

from ..build import build_injection_detector, build_policy_checker
from ..settings import Settings

ROLE_HELP = (f"the asking role for the policy check ({', '.join(ROLES)}); a JSONL line's "
             f"own \"role\" overrides it; none: the strictest reading")
guard_app = typer.Typer(help="Run the guardrails on texts and print their verdicts as JSON.",
                        no_args_is_help=True)


class GuardScanner:
    """The three guards, loaded once and run on many texts."""

    def __init__(self, scrubber: Scrubber, injection: InjectionDetector,
                 policy: PolicyChecker) -> None:
        self.scrubber, self.injection, self.policy = scrubber, injection, policy

    @classmethod
    def from_settings(cls, settings: Settings) -> GuardScanner:
        return cls(PresidioScrubber(), build_injection_detector(settings.embedder),
                   build_policy_checker(settings.embedder))

    def scan(self, text: str, role: str | None = None) -> dict:
        scrubbed = self.scrubber.scrub(text)
        # Injection and policy see the scrubbed text, as in the answer pipeline.
        injection = self.injection.check(scrubbed.text)
        policy = self.policy.check(scrubbed.text, role=role)
        return {
            "pii": [{"start": s.start, "end": s.end, "type": s.type, "score": round(s.score, 4)}
                    for s in scrubbed.spans],
            "redacted": scrubbed.text,
            "injection": {"flagged": injection.flagged, "score": injection.score},
            "policy": {"action": policy.action, "rule": policy.rule, "role": policy.role},
        }

    def scan_line(self, line: str, number: int, role: str | None = None) -> dict:
        """One JSONL line in, one result out; problems with the line become an error object.
        The line's own "role" overrides `role`."""
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            return {"id": None, "line": number, "error": f"invalid JSON: {exc.msg}"}
        if not isinstance(item, dict):
            return {"id": None, "line": number, "error": "expected a JSON object"}
        text = item.get("text")
        if not isinstance(text, str):
            return {"id": item.get("id"), "line": number,
                    "error": "missing 'text'" if text is None else "'text' must be a string"}
        if item.get("role") is not None:  # null or absent: the --role option's
            role = item["role"]
        if role is not None and role not in ROLES:
            return {"id": item.get("id"), "line": number,
                    "error": f"unknown role {role!r}; roles: {', '.join(ROLES)}"}
        try:
            return {"id": item.get("id"), **self.scan(text, role)}
        except Exception as exc:  # one failing text must not end the batch
            return {"id": item.get("id"), "line": number,
                    "error": f"{type(exc).__name__}: {exc}"}


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
    scanner = GuardScanner.from_settings(Settings())
    if text is not None:
        print(json.dumps(scanner.scan(text, role), ensure_ascii=False))
        return
    lines = sys.stdin if str(jsonl) == "-" else jsonl.open(encoding="utf-8")  # type: ignore[union-attr]
    with lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                print(json.dumps(scanner.scan_line(line, number, role), ensure_ascii=False),
                      flush=True)
