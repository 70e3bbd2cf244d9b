"""Mutation suite: does the grounding verifier accept faithful claims and catch small mistakes?

    python -m evals.mutations --out evals/reports/mutations [--sets demo corpus fresh]

Each dataset line is {id, kind, claim, passage, doc, expected_supported}: a faithful paraphrase
of the passage (kind "faithful") or a single-edit mutation of one (number, unit,
recombination, code, negation, quantifier, entity, added_step, elsewhere). The claim is checked
the way a model sentence is: as if it cited the passage as [1], with the verifier the answers
use (`build_verifier`, real MiniLM embedder). Writes `results.json` with, per set, the share
of faithful claims accepted and the share of each mutation kind caught, plus the rows the
verifier got wrong. A row whose check raises is a failure row, never a crash of the run.
"""

from __future__ import annotations

import argparse
import json
import time
import traceback
from collections import defaultdict
from pathlib import Path

from copilot.answer import SentenceCheck
from copilot.grounding import GroundingVerifier, split_sentences

DATASETS = Path(__file__).parent / "datasets"
SETS = ("demo", "corpus", "fresh", "fresh2", "fresh3")
# Targets of issue #14: these kinds are exact facts, so nearly every change must be caught.
EXACT_KINDS = ("number", "unit", "code")
TARGETS = {"faithful_acceptance": 0.90, "exact_kinds_caught": 0.98, "other_kinds_caught": 0.90}


def load_rows(name: str) -> list[dict]:
    path = DATASETS / f"mutations_{name}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def check(verifier: GroundingVerifier, claim: str, passage: str) -> list[SentenceCheck]:
    """The claim's sentences, each citing the passage as [1], judged like a model answer."""
    text = " ".join(f"{s.rstrip('.')} [1]." for s in split_sentences(claim))
    return verifier.verify(text, [passage])


def evaluate(verifier: GroundingVerifier, rows: list[dict]) -> dict:
    by_kind: dict[str, list[bool]] = defaultdict(list)  # kind -> verifier was right
    wrong, failures = [], []
    for row in rows:
        try:
            verdicts = check(verifier, row["claim"], row["passage"])
        except Exception as exc:  # one broken row must not stop the run
            failures.append({"id": row.get("id"), "error": repr(exc),
                             "trace": traceback.format_exc(limit=3)})
            continue
        supported = bool(verdicts) and all(v.supported for v in verdicts)
        right = supported == row["expected_supported"]
        by_kind[row["kind"]].append(right)
        if not right:
            wrong.append({"id": row["id"], "kind": row["kind"], "claim": row["claim"],
                          "supported": supported,
                          "reasons": [v.reason for v in verdicts]})
    rates = {kind: sum(v) / len(v) for kind, v in sorted(by_kind.items())}
    mutated = [k for k in by_kind if k != "faithful"]
    exact = [r for k in mutated if k in EXACT_KINDS for r in by_kind[k]]
    other = [r for k in mutated if k not in EXACT_KINDS for r in by_kind[k]]
    return {
        "n": len(rows),
        "faithful_acceptance": rates.get("faithful"),
        "caught": {k: rates[k] for k in mutated},
        "counts": {k: len(v) for k, v in sorted(by_kind.items())},
        "exact_kinds_caught": sum(exact) / len(exact) if exact else None,
        "other_kinds_caught": sum(other) / len(other) if other else None,
        "all_mutations_caught": (sum(exact) + sum(other)) / (len(exact) + len(other))
        if exact or other else None,
        "wrong": wrong,
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="evals/reports/mutations")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=SETS)
    parser.add_argument("--note", default="", help="what this run measures (kept in the file)")
    args = parser.parse_args()
    from copilot.build import build_embedder
    from copilot.settings import Settings
    settings = Settings()
    verifier = GroundingVerifier.from_settings(settings, build_embedder("minilm"))
    started = time.perf_counter()
    results = {"note": args.note, "targets": TARGETS,
               "sets": {name: evaluate(verifier, load_rows(name)) for name in args.sets}}
    results["seconds"] = round(time.perf_counter() - started, 1)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    summary = {name: {k: v for k, v in s.items() if k not in ("wrong", "failures")}
               for name, s in results["sets"].items()}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
