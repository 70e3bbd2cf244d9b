"""`copilot eval` and `copilot bench`, plugged into the copilot CLI through an entry point
(copilot may not import evals: imports point down)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_command(
        dataset: Annotated[Path, typer.Option(help="JSONL dataset")] = Path(
            __file__).parent / "datasets" / "demo_qa.jsonl",
        corpus: Annotated[Path | None, typer.Option(help="folder to ingest (default: demo)")] = None,
        out: Annotated[Path, typer.Option(help="output folder")] = Path("evals/results"),
        thresholds: Annotated[Path | None, typer.Option(help="JSON thresholds")] = None,
        baseline: Annotated[Path | None, typer.Option(help="earlier results.json")] = None,
        answers: Annotated[bool, typer.Option(help="also run the model")] = True,
        limit: Annotated[int, typer.Option(help="first N cases only")] = 0,
    ) -> None:
        """Evaluate retrieval and answers offline; exit 1 when a threshold is missed."""
        from .harness import run_eval

        results, failures = run_eval(corpus, dataset, out, thresholds, baseline, answers, limit)
        typer.echo(f"retrieval: {results['retrieval']}")
        if "answers" in results:
            typer.echo(f"answers: {results['answers']}")
        typer.echo(f"reports in {out}/ (results.json, report.md, report.html)")
        if failures:
            typer.echo("thresholds missed:\n  " + "\n  ".join(failures), err=True)
            raise typer.Exit(1)
