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
        guards: Annotated[bool, typer.Option(help="also run the PII, injection and policy "
                                                  "suites (guards.json)")] = True,
    ) -> None:
        """Evaluate retrieval and answers offline; exit 1 when a threshold is missed."""
        from .harness import run_eval

        results, failures = run_eval(corpus, dataset, out, thresholds, baseline, answers, limit,
                                      guards=guards)
        typer.echo(f"retrieval: {results['retrieval']}")
        if "answers" in results:
            typer.echo(f"answers: {results['answers']}")
        typer.echo(f"reports in {out}/ (results.json, report.md, report.html)")
        if failures:
            typer.echo("thresholds missed:\n  " + "\n  ".join(failures), err=True)
            raise typer.Exit(1)

    @app.command("bench")
    def bench_command(
        out: Annotated[Path, typer.Option(help="output folder")] = Path("evals/results/bench"),
        quick: Annotated[bool, typer.Option(help="10k chunks only, fewer questions and "
                                                 "samples (a few minutes)")] = False,
        questions: Annotated[int | None, typer.Option(
            min=1, help="model questions (default 8, 4 with --quick)")] = None,
        sizes: Annotated[list[int] | None, typer.Option(
            "--sizes", min=1, help="index sizes for retrieval latency; repeat the option "
                                   "(default 10000 100000, 10000 with --quick)")] = None,
        appends: Annotated[int | None, typer.Option(
            min=1, help="timed audit appends (default 2000, 500 with --quick)")] = None,
        corpus: Annotated[Path | None, typer.Option(
            help="folder to ingest (default: the demo plant; the model questions are the "
                 "demo plant's)")] = None,
        texts: Annotated[int | None, typer.Option(
            min=1, help="demo questions timed by the guards and retrieval (default all)")] = None,
        thread_scan: Annotated[bool, typer.Option(
            help="also time bare llama.cpp at 1 thread and at every core")] = True,
    ) -> None:
        """Measure ingest, retrieval, model (pipeline vs bare llama.cpp), guards, audit and
        memory; write bench.json and bench.md."""
        from .bench import BenchPlan, run_bench

        plan = BenchPlan.quick() if quick else BenchPlan()
        if questions is not None:
            plan.questions = questions
        if sizes:
            plan.sizes = list(sizes)
        if appends is not None:
            plan.appends = appends
        plan.thread_scan = thread_scan
        plan.texts = texts
        plan.corpus = corpus
        run_bench(out, plan, log=lambda message: typer.echo(message, err=True))
        typer.echo((out / "bench.md").read_text("utf-8"))
        typer.echo(f"figures in {out}/ (bench.json, bench.md)")
