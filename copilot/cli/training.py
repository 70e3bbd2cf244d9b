"""`copilot quiz ...` and `copilot training ...`: the training assistant on the command line.
Errors become messages and exit codes here, nowhere deeper.

Every command acts as the `--user` it is given: the service filters modules, items, records
and gaps by that role exactly as it does for the UI (the default is a demo trainer, who does
not see QA-only documents).
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Annotated

import typer
from rich.table import Table

from guardrails import User

from ..build import build_copilot
from ..settings import Settings
from ..training import STATES, QuizItem, TrainingService
from ..training.csv_safe import csv_row
from ..training.generator import LETTERS
from .output import EXPECTED_ERRORS, fail, out

quiz_app = typer.Typer(help="Quiz modules generated from SOPs: build, approve, take.",
                       no_args_is_help=True)
training_app = typer.Typer(help="Training records: matrix, knowledge gaps, reviews due.",
                           no_args_is_help=True)

UserOption = Annotated[str, typer.Option("--user", help="NAME or NAME:ROLE")]
TRAINER = "demo-trainer:trainer"
_STATE_COLOUR = {"current": "green", "due": "yellow", "overdue": "red",
                 "retraining_needed": "magenta", "never_trained": "dim"}


def _service() -> TrainingService:
    # A site's own matrix file, when settings name one (else the packaged demo matrix).
    return build_copilot(Settings()).training


def _user(spec: str, default_role: str = "operator") -> User:
    name, _, role = spec.partition(":")
    if not name.strip():
        raise typer.BadParameter(f"expected NAME or NAME:ROLE, got {spec!r}")
    return User(name.strip(), (role or default_role).strip().lower())





# -- quiz ---------------------------------------------------------------------------------

@quiz_app.command("build")
def build(doc_id: Annotated[str, typer.Argument(help="document id, e.g. SOP-STE-001")],
          section: Annotated[str | None, typer.Option(help="one section, e.g. 6.4")] = None,
          as_json: Annotated[bool, typer.Option("--json",
                                                help="items and rejects as JSON")] = False,
          user: UserOption = TRAINER) -> None:
    """Generate a module of draft items from a document's effective revision (refused when
    the user's role may not see the document)."""
    try:
        result = _service().build_module(doc_id, section, _user(user, "trainer"))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps(result.to_json_dict(), ensure_ascii=False, indent=2))
        return
    table = Table("id", "type", "status", "section", "stem", title=f"module {result.module_id} "
                  f"({result.doc_id} rev {result.revision})")
    for item in result.items:
        table.add_row(item.item_id, item.type, item.status, item.section.split(" > ")[-1],
                      item.stem[:90])
    out.print(table)
    for rejected in result.rejected:
        out.print(f"[yellow]rejected[/] {rejected.item.stem[:80]!r}: {rejected.reason}")
    out.print(f"{len(result.items)} items valid, {len(result.rejected)} rejected; drafts until a "
              f"trainer or QA user runs `copilot quiz approve {result.module_id}`")


@quiz_app.command("approve")
def approve(module_id: Annotated[str, typer.Argument(help="module id (see quiz list)")],
            user: UserOption = TRAINER,
            item: Annotated[list[str] | None, typer.Option(help="only these item ids")] = None
            ) -> None:
    """Approve a module's draft items (trainer, QA or admin only)."""
    try:
        count = _service().approve(module_id, _user(user, "trainer"), item or None)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"{count} items approved in {module_id}")


@quiz_app.command("retire")
def retire(item_ids: Annotated[list[str], typer.Argument(help="item ids")],
           reason: Annotated[str, typer.Option(help="why the items are retired")],
           user: UserOption = TRAINER) -> None:
    """Retire items (trainer, QA or admin only)."""
    try:
        count = _service().retire(item_ids, _user(user, "trainer"), reason)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"{count} items retired")


@quiz_app.command("list")
def list_modules(as_json: Annotated[bool, typer.Option("--json")] = False,
                 user: UserOption = TRAINER) -> None:
    """Modules the user may see, with their item counts and review flags."""
    try:
        modules = _service().modules(_user(user, "trainer"))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps([m.model_dump() for m in modules], indent=2))
        return
    table = Table("module", "document", "rev", "draft", "approved", "retired", "review")
    for m in modules:
        table.add_row(m.module_id, m.title, m.revision, str(m.counts["draft"]),
                      str(m.counts["approved"]), str(m.counts["retired"]),
                      f"[magenta]{m.review_reason}[/]" if m.needs_review else "")
    out.print(table)


@quiz_app.command("show")
def show(module_id: str, status: Annotated[str | None, typer.Option()] = None,
         as_json: Annotated[bool, typer.Option("--json")] = False,
         user: UserOption = TRAINER) -> None:
    """Items of a module with keys and quotes (for review)."""
    try:
        items = _service().items(module_id, _user(user, "trainer"), status)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps([i.public_dict() for i in items], ensure_ascii=False, indent=2))
        return
    for item in items:
        out.print(f"[bold]{item.item_id}[/] [{item.status}] {item.type}  {item.doc_id} rev "
                  f"{item.revision} § {item.section}")
        _print_item(item)
        out.print(f"  key: [green]{item.key}[/]\n  quote: [dim]{item.quote}[/]\n")


@quiz_app.command("reconcile")
def reconcile() -> None:
    """Retire or carry forward items after documents were revised (run after ingest)."""
    try:
        report = _service().reconcile()
    except EXPECTED_ERRORS as exc:
        fail(exc)
    out.print(f"{len(report.retired)} items retired, {len(report.carried_forward)} carried "
              f"forward; modules flagged for review: {', '.join(report.flagged_modules) or '-'}")


@quiz_app.command("take")
def take(module_id: str, user: UserOption,
         limit: Annotated[int | None, typer.Option(help="ask at most this many items")] = None
         ) -> None:
    """Take a quiz in the terminal; the result is recorded and audited."""
    try:
        service = _service()
        learner = _user(user)
        items = service.questions(module_id, learner, limit)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    answers, seconds = {}, {}
    for n, item in enumerate(items, 1):
        out.print(f"\n[bold]{n}/{len(items)}[/] ({item.type.replace('_', ' ')})")
        _print_item(item)
        started = time.monotonic()
        answers[item.item_id] = typer.prompt(_prompt(item))
        seconds[item.item_id] = round(time.monotonic() - started, 1)
    try:
        result = service.submit(learner, module_id, answers, seconds)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    by_id = {i.item_id: i for i in items}
    for answer in result.answers:
        if not answer.correct:
            item = by_id[answer.item_id]
            out.print(f"[red]wrong:[/] {item.stem[:80]}\n  you: {answer.answer}  key: "
                      f"[green]{item.key}[/]\n  {item.doc_id} rev {item.revision} § "
                      f"{item.section}: [dim]{item.quote}[/]")
    verdict = "[green]PASSED[/]" if result.passed else "[red]NOT PASSED[/]"
    out.print(f"\n{verdict} {result.n_correct}/{result.n_items} = {result.score:.0%} "
              f"(pass mark {result.pass_mark:.0%}); recorded for {learner.name} on "
              f"{result.doc_id} rev {result.revision}")
    if not result.passed:
        raise typer.Exit(1)


def _print_item(item: QuizItem) -> None:
    out.print(item.stem, markup=False)
    for letter, option in zip(LETTERS, item.options):
        if item.type != "true_false":
            out.print(f"  {letter}) {option}", markup=False)


def _prompt(item: QuizItem) -> str:
    return {"true_false": "true or false", "numeric": "value",
            "ordering": "order of letters"}.get(item.type, "letter")


# -- training -----------------------------------------------------------------------------

@training_app.command("matrix")
def matrix(as_csv: Annotated[bool, typer.Option("--csv", help="CSV on stdout")] = False,
           user: Annotated[list[str] | None, typer.Option(
               "--user", help="NAME:ROLE (repeatable); default: learners on record plus one "
                              "demo user per role")] = None,
           viewer: Annotated[str, typer.Option(
               help="NAME:ROLE of who reads the matrix: titles of documents this role may "
                    "not see are left blank")] = TRAINER) -> None:
    """Per user and required document: current, due, overdue, retraining needed, never trained."""
    try:
        service = _service()
        users = [_user(u) for u in user] if user else service.known_users()
        rows = service.matrix(users, _user(viewer, "trainer"))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    fields = ["user", "role", "doc_id", "state", "effective_revision", "trained_revision",
              "last_passed", "due_date", "note"]
    if as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(fields)
        # User names and notes are user-chosen text: a spreadsheet must not run them.
        writer.writerows(csv_row(r.model_dump()[f] for f in fields) for r in rows)
        print(buffer.getvalue(), end="")
        return
    table = Table(*fields[:-1])
    for r in rows:
        colour = _STATE_COLOUR[r.state]
        table.add_row(r.user, r.role, r.doc_id, f"[{colour}]{r.state}[/]", r.effective_revision,
                      r.trained_revision, r.last_passed, r.due_date)
    out.print(table)
    out.print(", ".join(f"{sum(r.state == s for r in rows)} {s}" for s in STATES))


@training_app.command("gaps")
def gaps(limit: Annotated[int, typer.Option(help="how many to show")] = 10,
         as_json: Annotated[bool, typer.Option("--json")] = False,
         user: UserOption = TRAINER) -> None:
    """Documents and sections operators ask about or fail most: candidates for a module
    (only documents the user's role may see)."""
    try:
        found = _service().gaps(_user(user, "trainer"), limit)
    except EXPECTED_ERRORS as exc:
        fail(exc)
    if as_json:
        print(json.dumps([g.model_dump() for g in found], ensure_ascii=False, indent=2))
        return
    table = Table("score", "document", "section", "questions", "unanswered", "failed items",
                  "example question")
    for g in found:
        table.add_row(f"{g.score:.1f}", g.doc_id, g.section, str(g.questions), str(g.unanswered),
                      f"{g.failed_items}/{g.attempts}", (g.example_questions or [""])[0][:60])
    out.print(table)


@training_app.command("due")
def due(user: UserOption) -> None:
    """Items due for spaced-repetition review today."""
    try:
        items = _service().review_queue(_user(user))
    except EXPECTED_ERRORS as exc:
        fail(exc)
    table = Table("item", "module", "type", "stem", title=f"{len(items)} reviews due today")
    for item in items:
        table.add_row(item.item_id, item.module_id, item.type, item.stem[:80])
    out.print(table)


__all__ = ["quiz_app", "training_app"]
