"""`copilot eval`: ingest a corpus into a fresh temporary home, run the real pipeline over a
dataset, write results.json, report.md and report.html, and gate on thresholds."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from copilot import Copilot, Settings, demo_plant_path

from .answers import run as run_answers
from .baselines import NaiveRag
from .dataset import is_gold_hit, load_cases
from .guard_suites import run_guard_suites
from .report import write_reports
from .retrieval import evaluate as evaluate_retrieval
from .retrieval import metrics


def naive_retrieval(corpus: Path, copilot: Copilot, cases) -> dict:
    rag = NaiveRag(corpus, copilot.kb.embedder)
    ranks = []
    for case in cases:
        rank = None
        for i, (doc_id, source, text) in enumerate(rag.search(case.question, k=10), start=1):
            if is_gold_hit(case, doc_id, source, text):
                rank = i
                break
        ranks.append(rank)
    return metrics(ranks)


def run_eval(corpus: Path | None, dataset: Path, out: Path, thresholds: Path | None = None,
             baseline: Path | None = None, answers: bool = True, limit: int = 0,
             guards: bool = True) -> tuple[dict, list[str]]:
    corpus = Path(corpus) if corpus else demo_plant_path()
    cases = load_cases(dataset)
    if limit:
        cases = cases[:limit]
    with tempfile.TemporaryDirectory(prefix="copilot-eval-") as home:  # never the user's home
        copilot = Copilot.from_settings(Settings(home=Path(home)))
        report = copilot.ingest([corpus])
        modes = evaluate_retrieval(copilot, cases)
        scored = [c for c in cases if c.answerable and not c.expect_restricted and c.evidence]
        modes["naive"] = naive_retrieval(corpus, copilot, scored)
        results: dict = {
            "corpus": str(corpus), "dataset": str(dataset), "cases": len(cases),
            "ingest": {"files": len(report.files), "failed": [f.__dict__ for f in report.failed]},
            "retrieval": {k: v for k, v in modes["hybrid"].items() if k != "misses"},
            "retrieval_modes": modes,
        }
        if answers:
            answered = run_answers(copilot, cases)
            results.update({k: answered[k] for k in ("answers", "access", "latency", "failures")})
            results["items"] = answered["items"]
        if guards:  # pii / injection / policy suites, also written to guards.json below
            results.update(run_guard_suites(copilot.kb.embedder.embed, copilot.scrubber))
    failures = check_thresholds(results, json.loads(Path(thresholds).read_text())) \
        if thresholds else []
    results["threshold_failures"] = failures
    if baseline:
        results["regressions"] = compare(results, json.loads(Path(baseline).read_text()))
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    if guards:
        (out / "guards.json").write_text(json.dumps(
            {k: results[k] for k in ("pii", "injection", "policy", "guard_latency")
             if k in results}, indent=2, ensure_ascii=False))
    write_reports(results, out)
    return results, failures


def _lookup(results: dict, dotted: str):
    node = results
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def check_thresholds(results: dict, thresholds: dict) -> list[str]:
    """Thresholds: {"retrieval.recall@5": {"min": 0.85}, "access.leaks": {"max": 0}}."""
    failed = []
    for metric, bound in thresholds.items():
        value = _lookup(results, metric)
        if value is None:
            failed.append(f"{metric}: not measured")
        elif "min" in bound and value < bound["min"]:
            failed.append(f"{metric} = {value:.3f} < {bound['min']}")
        elif "max" in bound and value > bound["max"]:
            failed.append(f"{metric} = {value:.3f} > {bound['max']}")
    return failed


HIGHER_IS_BETTER = ["retrieval.recall@1", "retrieval.recall@5", "retrieval.mrr",
                    "retrieval.ndcg@10", "answers.decline_accuracy", "answers.key_fact_recall",
                    "answers.citation_precision", "answers.first_citation_gold_rate",
                    "answers.gold_cited_rate",
                    "pii.recall", "pii.precision", "injection.detection_rate", "policy.accuracy"]
LOWER_IS_BETTER = ["answers.false_decline_rate", "answers.unsupported_number_rate",
                   "access.leaks", "latency.answer_p50", "latency.ttft_p50",
                   "pii.hard_negative_fp_rate", "injection.false_positive_rate"]


def compare(results: dict, earlier: dict, tolerance: float = 0.02) -> list[dict]:
    rows = []
    for metric in HIGHER_IS_BETTER + LOWER_IS_BETTER:
        now, before = _lookup(results, metric), _lookup(earlier, metric)
        if now is None or before is None:
            continue
        worse = now < before - tolerance if metric in HIGHER_IS_BETTER else \
            now > before + tolerance * max(1.0, abs(before))
        rows.append({"metric": metric, "before": before, "now": now, "regression": worse})
    return rows
