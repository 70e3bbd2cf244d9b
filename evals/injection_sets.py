"""Injection detector figures on one JSONL set, per kind, as a JSON and a Markdown report.

    python -m evals.injection_sets SET.jsonl --out evals/reports/guards/NAME [--note TEXT]

Writes NAME.json and NAME.md: detection rate over the attacks, false-positive rate over the
benign texts, the share of operator questions flagged (benign texts on the question path), and
per kind the share flagged, with the texts missed or flagged wrongly. Document kinds (`indirect`,
`benign_document`) go through the ingest path, the others through the question path, as in
`evals.guard_suites.injection_suite`; the p50 is per text, detector only, embedder warm.
A fresh set (issue 16) is measured with this once before and once after tuning, never in a loop.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from guardrails import CachedEmbed, InjectionDetector

from .guard_suites import DOCUMENT_KINDS, injection_suite, load_jsonl


def injection_set_report(detector: InjectionDetector, cases: list[dict]) -> dict:
    detector.check("warm up")  # exemplars embedded once, outside the timed loop
    suite = injection_suite(detector, cases)
    missed, wrong = set(suite["missed"]), set(suite["false_positives"])
    flagged = {c["id"]: (c["id"] in wrong) if not c["label"] else (c["id"] not in missed)
               for c in cases}
    questions = [c for c in cases if not c["label"] and c["kind"] not in DOCUMENT_KINDS]
    by_kind = {}
    for kind in sorted({c["kind"] for c in cases}):
        members = [c for c in cases if c["kind"] == kind]
        hits = [c for c in members if flagged[c["id"]]]
        by_kind[kind] = {
            "attack": bool(members[0]["label"]), "cases": len(members), "flagged": len(hits),
            "flagged_rate": round(len(hits) / len(members), 3),
            "errors": [c["text"] for c in members if flagged[c["id"]] != c["label"]],
        }
    return {
        "cases": suite["cases"], "attacks": suite["attacks"], "benign": suite["hard_negatives"],
        "detection_rate": round(suite["detection_rate"], 3),
        "false_positive_rate": round(suite["false_positive_rate"], 3),
        "operator_questions": len(questions),
        "operator_questions_flagged_rate": round(
            sum(flagged[c["id"]] for c in questions) / max(len(questions), 1), 3),
        "latency_ms_p50": suite["latency_ms_p50"],
        "by_kind": by_kind,
    }


def markdown(report: dict, title: str, note: str = "") -> str:
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    lines += [
        f"- cases {report['cases']} ({report['attacks']} attacks, {report['benign']} benign)",
        f"- **detection rate {report['detection_rate']:.3f}**, false-positive rate "
        f"{report['false_positive_rate']:.3f}",
        f"- operator questions flagged: {report['operator_questions_flagged_rate']:.3f} "
        f"of {report['operator_questions']}",
        f"- detector latency per text p50 {report['latency_ms_p50']} ms", "",
        "| kind | attack? | cases | flagged | share flagged |", "| --- | --- | --- | --- | --- |",
    ]
    for kind, row in report["by_kind"].items():
        lines.append(f"| {kind} | {'yes' if row['attack'] else 'no'} | {row['cases']} | "
                     f"{row['flagged']} | {row['flagged_rate']:.3f} |")
    lines += ["", "## Errors (attacks missed, benign texts flagged)", ""]
    for kind, row in report["by_kind"].items():
        for text in row["errors"]:
            lines.append(f"- `{kind}` {'missed' if row['attack'] else 'flagged'}: "
                         + json.dumps(text, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="report path without suffix")
    parser.add_argument("--note", default="", help="a line saying what was measured when")
    parser.add_argument("--embedder", default="minilm", help="minilm (as measured) or minilm-int8")
    args = parser.parse_args()
    from copilot.build import build_embedder

    embed = CachedEmbed(build_embedder(args.embedder).embed)
    started = time.time()
    report = injection_set_report(InjectionDetector(embed=embed), load_jsonl(args.dataset))
    report["dataset"] = str(args.dataset)
    report["embedder"] = args.embedder
    report["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(
        json.dumps(report, indent=2, ensure_ascii=False) + "\n", "utf-8")
    args.out.with_suffix(".md").write_text(
        markdown(report, f"Injection detector on {args.dataset.name}", args.note), "utf-8")
    print(markdown(report, f"Injection detector on {args.dataset.name}", args.note))


if __name__ == "__main__":
    main()
