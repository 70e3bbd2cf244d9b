"""Retrieval metrics (recall@1/@5, MRR, nDCG@10) per search mode, over a dataset.

    python -m evals.retrieval --dataset evals/datasets/demo_qa.jsonl [--corpus DIR] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

from copilot import Copilot, Settings, demo_plant_path
from guardrails import demo_user
from knowledge import SearchFilter

from .dataset import Case, is_gold_hit, load_cases

MODES = ("hybrid", "dense", "bm25")


def rank_of_gold(copilot: Copilot, case: Case, mode: str, k: int = 10) -> int | None:
    # The knowledge base's search with the case's role filter: retrieval is measured, not
    # presentation (Copilot.search replaces names in deviation reports for roles without a
    # need to know, and evidence quoting a name would no longer match).
    hits = copilot.kb.search(case.question, k=k, mode=mode,
                             filters=SearchFilter(role=demo_user(case.role).role))
    for rank, hit in enumerate(hits, start=1):
        if is_gold_hit(case, hit.doc_id, hit.source, hit.text):
            return rank
    return None


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "recall@1": sum(1 for r in ranks if r == 1) / n,
        "recall@5": sum(1 for r in ranks if r and r <= 5) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
        "ndcg@10": sum(1 / math.log2(r + 1) for r in ranks if r and r <= 10) / n,
        "n": len(ranks),
    }


def evaluate(copilot: Copilot, cases: list[Case], modes=MODES) -> dict:
    scored = [c for c in cases if c.answerable and not c.expect_restricted and c.evidence]
    results: dict = {}
    for mode in modes:
        started = time.perf_counter()
        ranks = [rank_of_gold(copilot, c, mode) for c in scored]
        results[mode] = metrics(ranks)
        results[mode]["seconds_per_query"] = (time.perf_counter() - started) / max(len(scored), 1)
        results[mode]["misses"] = [c.id for c, r in zip(scored, ranks, strict=True) if not r or r > 5]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--corpus", default=None, help="folder to ingest (default: demo plant)")
    parser.add_argument("--out", default="evals/results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:  # never the user's data directory
        copilot = Copilot.from_settings(Settings(home=Path(home)))
        copilot.ingest([args.corpus or demo_plant_path()])
        results = evaluate(copilot, load_cases(args.dataset))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "retrieval.json").write_text(json.dumps(results, indent=2))
    print(json.dumps({m: {k: v for k, v in r.items() if k != "misses"} for m, r in results.items()},
                     indent=2))


if __name__ == "__main__":
    main()
