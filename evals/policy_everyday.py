"""How many ordinary plant questions the GMP policy checker refuses (it must refuse none).

    python -m evals.policy_everyday --out evals/reports/guards/policy_everyday

The questions come from the answer sets (demo and shared-corpus QA, near-miss sets) and the
injection suites' benign operator texts, scrubbed as the pipeline scrubs them and asked as an
operator. The near-miss `*_fresh` sets are in no policy training list, so their rows say how the
checker does on ordinary questions it never saw; the other rows are training exemplars since
the everyday answer exemplars were added to `policy.yaml`. Writes OUT.json and OUT.md.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DATASETS = Path(__file__).parent / "datasets"
QUESTION_SETS = ("demo_qa", "shared_corpus_qa", "nearmiss_tune", "nearmiss_tune2",
                 "nearmiss_demo_fresh", "nearmiss_corpus_fresh")
BENIGN_SETS = ("injection_cases", "injection_tune")


def everyday_questions() -> list[tuple[str, str]]:
    found = []
    for name in QUESTION_SETS:
        for line in (DATASETS / f"{name}.jsonl").read_text("utf-8").splitlines():
            if line.strip():
                found.append((name, json.loads(line)["question"]))
    for name in BENIGN_SETS:
        for line in (DATASETS / f"{name}.jsonl").read_text("utf-8").splitlines():
            case = json.loads(line) if line.strip() else None
            if case and not case["label"]:
                found.append((name, case["text"]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    from copilot import Settings
    from copilot.build import build_embedder
    from guardrails import PolicyChecker, PresidioScrubber

    checker = PolicyChecker(embed=build_embedder(Settings().embedder).embed)
    scrubber = PresidioScrubber()
    rows: dict[str, dict] = {}
    for name, text in everyday_questions():
        verdict = checker.check(scrubber.scrub(text).text, role="operator")
        row = rows.setdefault(name, {"questions": 0, "refused": 0, "examples": []})
        row["questions"] += 1
        if verdict.action != "answer":
            row["refused"] += 1
            row["examples"].append({"text": text, "intent": verdict.rule,
                                    "score": verdict.score})
    total = {"questions": sum(r["questions"] for r in rows.values()),
             "refused": sum(r["refused"] for r in rows.values())}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps({"total": total, "by_set": rows},
                                                        indent=2), "utf-8")
    lines = ["# Ordinary plant questions refused by the GMP policy checker", "",
             "| set | questions | refused |", "|---|---:|---:|"]
    lines += [f"| {n} | {r['questions']} | {r['refused']} |" for n, r in rows.items()]
    lines += [f"| all | {total['questions']} | {total['refused']} |", ""]
    args.out.with_suffix(".md").write_text("\n".join(lines), "utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
