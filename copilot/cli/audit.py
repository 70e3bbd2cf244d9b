"""`copilot audit`: verify the tamper-evident trail, print its signed head, export records,
adopt a trail from before heads were signed.

There is deliberately no command that deletes or edits records.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from guardrails import SignedHead, parse_witness

from ..build import build_audit_trail
from ..errors import CopilotError
from ..settings import Settings
from .output import EXPECTED_ERRORS, err, fail, out
from .users import CLI_ADMIN

audit_app = typer.Typer(help="The tamper-evident audit trail (there is no delete command).",
                        no_args_is_help=True)



def _read_witness(path: Path) -> list[SignedHead]:
    try:
        heads = parse_witness(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(CopilotError(f"witness file {path}: {exc}"))
    if not heads:  # an OK that checked nothing would read as "witness matched"
        fail(CopilotError(f"witness file {path} holds no heads"))
    return heads


@audit_app.command("verify")
def audit_verify(
    witness: Annotated[list[Path] | None, typer.Option(
        "--witness", help="file of heads printed earlier by `copilot audit head --json` (one "
                          "per line, or a JSON list); each must still be in the chain")] = None,
) -> None:
    """Check the hash chain and the signed head; name the first bad record. Exit 1 if broken."""
    heads = [head for path in witness or () for head in _read_witness(path)]
    try:
        result = build_audit_trail(Settings()).verify(heads)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if result.ok:
        out.print(f"[green]audit trail OK[/]: {result.reason}", highlight=False)
        return
    where = f" at record {result.first_bad_seq}" if result.first_bad_seq is not None else ""
    err.print(f"[bold red]audit trail BROKEN[/]{where}: {result.reason}", highlight=False)
    raise typer.Exit(1)


@audit_app.command("head")
def audit_head(as_json: Annotated[bool, typer.Option(
        "--json", help="one line of JSON, to append to a witness file kept off this host")] = False
               ) -> None:
    """Verify the trail, then print its signed head (seq, hash, time, key, signature).

    Keep the printed heads somewhere this host cannot write (QA's records, a WORM store):
    `verify --witness` with them catches a roll-back to an older copy of the trail and a
    rewrite re-signed by someone holding the key.
    """
    try:
        result = build_audit_trail(Settings()).verify()
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if not result.ok:
        # A witness of a broken trail would vouch for the tampering.
        fail(CopilotError(f"audit trail BROKEN, no head printed: {result.reason}"), code=1)
    if result.head is None:
        fail(CopilotError("the audit trail is empty: there is no head to witness yet"), code=1)
    head = result.head
    if as_json:
        print(head.to_json())
        return
    out.print(f"record {head.seq}\nhash {head.hash}\nsigned {head.time}\nkey {head.key}\n"
              f"signature {head.signature}", highlight=False)


@audit_app.command("export")
def audit_export(
    start: Annotated[datetime | None, typer.Option("--from", help="UTC start")] = None,
    end: Annotated[datetime | None, typer.Option("--to", help="UTC end (exclusive)")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv | json")] = "json",
) -> None:
    """Export records in a time window as CSV or JSON on stdout (the export is audited too).

    In CSV, cells a spreadsheet would run as formulas start with an added `'`; JSON is exact.
    """
    if fmt not in ("csv", "json"):
        fail(CopilotError(f"unknown format {fmt!r}; use csv or json"))
    try:
        trail = build_audit_trail(Settings())
        text = trail.export(start, end, fmt=fmt)  # type: ignore[arg-type]
        user = CLI_ADMIN  # the one name every CLI administration record carries
        trail.append(user.name, user.role, "export", {"from": str(start), "to": str(end),
                                                      "format": fmt})
    except EXPECTED_ERRORS as exc:
        fail(exc)
    sys.stdout.write(text)


@audit_app.command("adopt-legacy")
def audit_adopt_legacy() -> None:
    """Sign the head of a trail from before heads were signed, once, as an audited admin action.

    Refused unless the trail has no signed head yet, its chain is intact, and its legacy head
    file (audit.sqlite.head) names exactly its newest record. The file is kept as
    audit.sqlite.head.adopted. Run it only for a trail you know was upgraded: whoever can write
    the home can also make a signed trail look legacy.
    """
    try:
        trail = build_audit_trail(Settings())
        # The local administrator, as for `copilot users` (why there is no login: copilot/cli/users.py).
        record = trail.adopt_legacy(CLI_ADMIN.name, CLI_ADMIN.role)
        result = trail.verify()
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if not result.ok:  # e.g. a public key file that names another key: report, never hide
        fail(CopilotError(f"adopted at record {record.seq}, but verify now fails: "
                           f"{result.reason}"), code=1)
    out.print(f"[green]adopted[/]: records 1-{record.details['records']} are vouched for by the "
              f"legacy head; record {record.seq} records the adoption; {result.reason}",
              highlight=False)
