"""GMP policy checker on a labelled set of requests: refuse or answer, per kind.

    python -m evals.policy_fresh DATASET --out evals/reports/guards/policy_fresh_after [--no-scrub]

Each line is {"id", "text", "label": "violation" | "allowed", "kind"[, "role"]}. A violation
counts as caught when the verdict is not "answer" (refuse or human_review: either way the
copilot does not answer it); an allowed request counts as right only when answered. Figures:
`accuracy`, `refused_legit_rate` (allowed requests refused), `violations_caught`, `by_kind`
(accuracy per kind) and the checker's latency. The text is checked twice: as written
(`raw`) and as `copilot guard scan` and the answer pipeline pass it, after the PII scrubber
(`scrubbed`; names become <PERSON_n>). Writes OUT.json and OUT.md.

A fresh set is measured once before and once after a change, never tuned on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from guardrails import CachedEmbed, PolicyChecker

LABELS = ("violation", "allowed")


def load_cases(path: Path) -> list[dict]:
    cases = []
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        case = json.loads(line)
        if case.get("label") not in LABELS or not case.get("text") or not case.get("kind"):
            raise ValueError(f"{path}:{number}: each line needs text, kind and a label "
                             f"({' or '.join(LABELS)}), got {case!r}")
        cases.append(case)
    return cases


def figures(cases: list[dict], refused: dict[str, bool]) -> dict:
    def right(case: dict) -> bool:
        return refused[case["id"]] == (case["label"] == "violation")

    violations = [c for c in cases if c["label"] == "violation"]
    allowed = [c for c in cases if c["label"] == "allowed"]
    kinds = sorted({c["kind"] for c in cases})
    by_kind = {}
    for kind in kinds:
        of_kind = [c for c in cases if c["kind"] == kind]
        by_kind[kind] = {
            "cases": len(of_kind),
            "accuracy": round(sum(map(right, of_kind)) / len(of_kind), 4),
            "violations_caught": _share([refused[c["id"]] for c in of_kind
                                         if c["label"] == "violation"]),
            "legit_refused": sum(refused[c["id"]] for c in of_kind if c["label"] == "allowed"),
            "legit": sum(1 for c in of_kind if c["label"] == "allowed"),
        }
    return {
        "cases": len(cases), "violations": len(violations), "allowed": len(allowed),
        "accuracy": round(sum(map(right, cases)) / max(len(cases), 1), 4),
        "violations_caught": _share([refused[c["id"]] for c in violations]),
        "refused_legit_rate": _share([refused[c["id"]] for c in allowed]),
        "by_kind": by_kind,
        "missed": [c["id"] for c in violations if not refused[c["id"]]],
        "refused_legit": [c["id"] for c in allowed if refused[c["id"]]],
    }


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def run(checker: PolicyChecker, cases: list[dict],
        prepare: Callable[[str], str] = lambda text: text) -> dict:
    checker.check("warm up")
    refused, rules, times = {}, {}, []
    for case in cases:
        text = prepare(case["text"])
        started = time.perf_counter()
        verdict = checker.check(text, role=case.get("role"))
        times.append((time.perf_counter() - started) * 1e3)
        refused[case["id"]] = verdict.action != "answer"
        rules[case["id"]] = verdict.rule
    result = figures(cases, refused)
    result["latency_ms"] = {"p50": round(statistics.median(times), 2),
                            "p95": round(sorted(times)[int(0.95 * (len(times) - 1))], 2)}
    result["intent_named"] = rules
    return result


def markdown(title: str, dataset: str, results: dict) -> str:
    lines = [f"# {title}", "", f"Set: `{dataset}`. A violation is caught when the verdict is "
             "refuse or human_review; an allowed request is right only when answered.", ""]
    for variant, r in results.items():
        lines += [f"## {variant}", "",
                  f"- cases {r['cases']} ({r['violations']} violations, {r['allowed']} allowed)",
                  f"- **accuracy {r['accuracy']:.3f}**, violations caught "
                  f"{r['violations_caught']:.3f}, legitimate refused "
                  f"{r['refused_legit_rate']:.3f} ({len(r['refused_legit'])} of {r['allowed']})",
                  f"- checker latency p50 {r['latency_ms']['p50']} ms, "
                  f"p95 {r['latency_ms']['p95']} ms", "",
                  "| kind | cases | accuracy | violations caught | legit refused |",
                  "|---|---|---|---|---|"]
        for kind, k in r["by_kind"].items():
            caught = "-" if k["violations_caught"] is None else f"{k['violations_caught']:.2f}"
            lines.append(f"| {kind} | {k['cases']} | {k['accuracy']:.2f} | {caught} | "
                         f"{k['legit_refused']}/{k['legit']} |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--out", required=True, help="path stem: writes OUT.json and OUT.md")
    parser.add_argument("--title", default="GMP policy checker")
    parser.add_argument("--no-scrub", action="store_true", help="skip the scrubbed variant")
    args = parser.parse_args()
    from copilot.build import build_embedder

    cases = load_cases(args.dataset)
    from copilot import Settings

    model = build_embedder(Settings().embedder)  # the product's embedder (the weights match it)
    # a cache of its own per variant, so neither is timed on the other's embeddings
    results = {"raw": run(PolicyChecker(embed=CachedEmbed(model.embed)), cases)}
    if not args.no_scrub:
        from guardrails import PresidioScrubber

        scrubber = PresidioScrubber()
        results["scrubbed"] = run(PolicyChecker(embed=CachedEmbed(model.embed)), cases,
                                  lambda text: scrubber.scrub(text).text)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(
        json.dumps({"dataset": str(args.dataset), **results}, indent=2, ensure_ascii=False),
        "utf-8")
    out.with_suffix(".md").write_text(markdown(args.title, str(args.dataset), results), "utf-8")
    for variant, r in results.items():
        print(f"{variant}: accuracy {r['accuracy']:.3f}, caught {r['violations_caught']:.3f}, "
              f"legit refused {r['refused_legit_rate']:.3f}, p50 {r['latency_ms']['p50']} ms")


if __name__ == "__main__":
    main()
