"""The `copilot` command. Errors become messages and exit codes here, nowhere deeper."""

from __future__ import annotations

import json
import os
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from guardrails import demo_user
from knowledge import discover

from ..answer import Answer
from ..api import Copilot, demo_plant_path
from ..build import build_copilot
from ..errors import CopilotError
from ..pipeline import AnswerEvent, SentenceEvent
from ..settings import Settings, disable_telemetry_and_hub
from .audit import audit_app
from .db import check_schemas, db_app
from .guard import guard_app
from .output import EXPECTED_ERRORS, err, fail, out
from .training import quiz_app, training_app
from .users import CLI_ADMIN, users_app
from .verify import verify_command

app = typer.Typer(help="Operator Copilot: grounded answers from your plant's effective documents.",
                  no_args_is_help=True, pretty_exceptions_enable=False)

RoleOption = Annotated[str, typer.Option("--role", help="ask as this role")]


@app.callback()
def _private_files() -> None:
    """Operator Copilot: grounded answers from your plant's effective documents."""
    # Everything the copilot writes (catalog text, password hashes, the audit trail, exports)
    # is for its own account only, whatever umask the shell or service unit left.
    os.umask(0o077)
    disable_telemetry_and_hub()  # once, at start-up: this process is the copilot


def _copilot() -> Copilot:
    return build_copilot(Settings())



@app.command()
def ingest(paths: Annotated[list[Path], typer.Argument(help="files or folders")],
           sync: Annotated[bool, typer.Option(
               help="remove documents whose files under these paths are gone")] = False,
           as_json: Annotated[bool, typer.Option("--json", help="summary as JSON")] = False) -> None:
    """Index documents (md, txt, pdf, docx, html). Unchanged files are skipped."""
    try:
        copilot = _copilot()
        total = len(discover(paths))
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err,
                      disable=as_json) as progress:
            task = progress.add_task("ingesting", total=total)
            report = copilot.ingest(paths, sync=sync, user=CLI_ADMIN,
                                    on_file=lambda r: progress.advance(task))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps([r.__dict__ for r in report.files], indent=2))
    else:
        table = Table("file", "result", "doc", "rev", "chunks", "reason")
        for r in report.files:
            colour = {"failed": "red", "unchanged": "dim"}.get(r.status, "green")
            table.add_row(r.path, f"[{colour}]{r.status}[/]", r.doc_id, r.revision,
                          str(r.chunks), r.reason)
        out.print(table)
        out.print(", ".join(f"{report.count(s)} {s}" for s in
                            ("added", "updated", "unchanged", "removed", "failed")))
    if report.failed:
        raise typer.Exit(1)


@app.command()
def ask(question: Annotated[str, typer.Argument(help="the question")],
        as_json: Annotated[bool, typer.Option("--json", help="print the Answer as JSON")] = False,
        role: RoleOption = "operator") -> None:
    """Ask a question; the answer cites the effective documents or declines."""
    try:
        copilot = _copilot()
        user = demo_user(role)
        if as_json:
            print(copilot.ask(question, user=user).model_dump_json(indent=2, exclude={"draft"}))
            return
        answer: Answer | None = None
        for event in copilot.ask_stream(question, user=user):
            if isinstance(event, SentenceEvent):
                err.print(f"[dim]{event.text}[/]")
            elif isinstance(event, AnswerEvent):
                answer = event.answer
    except EXPECTED_ERRORS as exc:
        fail(exc)
    assert answer is not None
    label = {"grounded": "[green]grounded[/]", "quoted": "[yellow]quoted from source[/]",
             "declined": "[red]declined[/]", "refused": "[red]refused[/]"}[answer.status]
    out.print(f"{label}\n")
    out.print(answer.text, markup=False, highlight=False)
    listed = answer.citations or answer.closest
    if listed:
        out.print("\n[bold]Sources[/]" if answer.citations else "\n[bold]Closest sources[/]")
        for c in listed:
            out.print(f"  [{c.n}] {c.doc_id} rev {c.revision} ({c.status}) — {c.title} — "
                      f"{c.section}", markup=False, highlight=False)
    out.print(f"\n[italic]{answer.notice}[/]")


@app.command()
def search(query: Annotated[str, typer.Argument()],
           k: Annotated[int, typer.Option("--k", min=1, max=100)] = 5,
           doc_type: Annotated[list[str] | None, typer.Option("--type")] = None,
           mode: Annotated[str, typer.Option(help="hybrid | dense | bm25")] = "hybrid",
           as_json: Annotated[bool, typer.Option("--json")] = False,
           role: RoleOption = "operator") -> None:
    """Search the effective documents (no language model involved)."""
    try:
        hits = _copilot().search(query, k=k, user=demo_user(role), doc_types=doc_type or (),
                                 mode=mode)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps([{key: h.to_dict()[key] for key in (
            "doc_id", "title", "revision", "status", "section", "score", "text", "chunk_id",
            "start", "end", "page", "quarantined")} for h in hits], indent=2, ensure_ascii=False))
        return
    for i, h in enumerate(hits, start=1):
        out.print(f"[bold]{i}. {h.doc_id} rev {h.revision}[/] — {h.section} "
                  f"[dim](score {h.score:.4f})[/]")
        out.print("   " + " ".join(h.text.split())[:300], markup=False, highlight=False)


@app.command()
def deviations(description: Annotated[str, typer.Argument(help="what happened")],
               k: Annotated[int, typer.Option("--k", min=1, max=20)] = 5,
               as_json: Annotated[bool, typer.Option("--json")] = False,
               role: RoleOption = "qa") -> None:
    """Similar past deviations with their root cause and CAPA."""
    try:
        matches = _copilot().similar_deviations(description, user=demo_user(role), k=k)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps([m.model_dump() for m in matches], indent=2, ensure_ascii=False))
        return
    if not matches:
        out.print(f"No deviation reports visible to role {role!r} match.")
    for i, m in enumerate(matches, start=1):
        out.print(f"[bold]{i}. {m.doc_id}[/] — {m.title} [dim](score {m.score:.4f})[/]")
        out.print("   Root cause: " + " ".join(m.root_cause.split())[:400], markup=False)
        out.print("   CAPA: " + " ".join(m.capa.split())[:400], markup=False)


@app.command()
def rescreen() -> None:
    """Screen every stored passage again for hidden instructions (quarantine).

    Ingest screens only new or changed files; run this after an upgrade or new rules.
    """
    try:
        count = _copilot().rescreen(user=CLI_ADMIN)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"{count} passage(s) quarantined: they are never given to the model.")


@app.command()
def docs(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List indexed documents with type, revision, status and chunk count."""
    try:
        rows = _copilot().kb.documents()
    except EXPECTED_ERRORS as exc:
        fail(exc)
    items: list[dict[str, Any]] = [
        {"doc_id": d.doc_id, "title": d.title, "type": d.doc_type, "revision": d.revision,
         "status": d.status, "effective_date": d.effective_date, "chunks": n,
         "access": list(d.access), "source": d.source} for d, n in rows]
    if as_json:
        print(json.dumps(items, indent=2, ensure_ascii=False))
        return
    table = Table("doc id", "title", "type", "rev", "status", "chunks")
    for item in items:
        table.add_row(item["doc_id"], item["title"], item["type"], item["revision"],
                      item["status"], str(item["chunks"]))
    out.print(table)


@app.command()
def serve(host: Annotated[str | None, typer.Option()] = None,
          port: Annotated[int | None, typer.Option()] = None,
          demo: Annotated[bool | None, typer.Option(
              help="ingest the bundled demo plant if the index is empty (default: only in "
                   "demo mode; a plant's home never gets the fictional plant unasked)")] = None,
          demo_mode: Annotated[bool | None, typer.Option(
              "--demo-mode/--login", help="demo mode: no login, a role picker, on its own home "
                                          "(COPILOT_DEMO_HOME) with the demo plant only; default "
                                          "from COPILOT_DEMO_MODE")] = None) -> None:
    """Serve the web UI (log-in with plant accounts, or explicit demo mode)."""
    settings = Settings()
    if demo_mode is not None:
        settings = settings.model_copy(update={"demo_mode": demo_mode})
    if settings.demo_mode:
        settings = settings.model_copy(update={"home": settings.demo_home})
        host = host or settings.ui_host
        if host not in LOOPBACK_HOSTS:
            fail(CopilotError(f"demo mode has no login: it serves only this machine "
                               f"(127.0.0.1), not {host}; plant use needs `copilot serve --login`"))
    demo = settings.demo_mode if demo is None else demo
    try:
        check_schemas(settings)  # never serve from an unmigrated or newer shared schema
        copilot = build_copilot(settings)
        if settings.demo_mode:
            _refuse_plant_home(copilot)
        elif not copilot.accounts.store.list():
            fail(CopilotError("no user accounts yet: add an administrator first with "
                               "`copilot users add NAME --role admin`, or start the demo with "
                               "`copilot serve --demo-mode`"))
        if demo and copilot.kb.is_empty():
            err.print(f"Indexing the demo plant from {demo_plant_path()} ...")
            report = copilot.ensure_demo_plant()
            if report:
                err.print(f"{report.count('added')} documents indexed, "
                          f"{len(report.failed)} failed")
        copilot.pipeline.backend.load()  # the chat model, before the first user waits for it
        _ = copilot.scrubber  # and the PII models, once, before several UI threads race for them
        copilot.gate.screen("warm-up: what is the P1 exposure time?")  # and the guard exemplars
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if settings.demo_mode:
        err.print("[bold yellow]DEMO MODE[/]: no login; anyone reaching this port picks a role.")
    # The UI sits above copilot, so it is found through an entry point, not imported.
    launch = _frontend("gradio")
    launch(copilot, host=host or settings.ui_host, port=port or settings.ui_port)


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _refuse_plant_home(copilot: Copilot) -> None:
    """Demo mode lets anyone pick any role, admin included: it must never open a home that
    holds accounts or a plant's documents, or it would hand out that plant's data and leave
    admins behind that keep working in login mode."""
    home = copilot.settings.home_dir
    if copilot.accounts.store.list():
        fail(CopilotError(f"demo mode refuses the home {home}: it holds user accounts (a "
                           "plant's home). Serve it with `copilot serve --login`, or point "
                           "COPILOT_DEMO_HOME at a folder of its own"))
    plant = demo_plant_path().resolve()
    foreign = [d.doc_id for d, _ in copilot.kb.documents()
               if not Path(d.source).resolve().is_relative_to(plant)]
    if foreign:
        fail(CopilotError(f"demo mode refuses the home {home}: it holds documents that are "
                           f"not the demo plant's ({', '.join(sorted(foreign)[:5])}). Serve it "
                           "with `copilot serve --login`, or point COPILOT_DEMO_HOME at a "
                           "folder of its own"))


def _frontend(name: str):
    found = [ep for ep in entry_points(group="operator_copilot.frontends") if ep.name == name]
    if not found:
        fail(CopilotError(f"no {name!r} frontend is installed; reinstall the package "
                           "(pip install -e .)"))
    return found[0].load()


def _load_command_plugins() -> None:
    for plugin in entry_points(group="operator_copilot.commands"):
        try:
            plugin.load()(app)
        except ImportError as exc:  # a broken optional plugin must not break the CLI
            err.print(f"[yellow]warning:[/] commands from {plugin.value} unavailable: {exc}")


_load_command_plugins()


app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(guard_app, name="guard")
app.add_typer(quiz_app, name="quiz")
app.add_typer(training_app, name="training")
app.add_typer(users_app, name="users")
app.command("verify")(verify_command)


def main() -> None:  # pragma: no cover
    app(sys.argv[1:])
