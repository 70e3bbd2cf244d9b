"""Injection detector latency per operator question, p50 and p95, with each MiniLM embedder.

    python -m evals.bench_injection_latency [--out evals/reports/guards/injection_latency.json]

Questions: the benign questions of injection_tune.jsonl and injection_cases.jsonl (never the
fresh set) plus the policy cases, checked one by one as the pipeline does (a fresh text each
time: the embedder's cache is cleared by suffixing a counter, which changes no rule match).
Also times the rules alone (no embedder), the part this module adds on top of the embedding.
The load average is recorded: on a shared 2-core machine it decides most of the figure.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from guardrails import InjectionDetector

from .guard_suites import DATASETS, POLICY_CASES, load_jsonl


def questions() -> list[str]:
    texts = [c["text"] for name in ("injection_tune.jsonl", "injection_cases.jsonl")
             for c in load_jsonl(DATASETS / name) if c["kind"] == "benign_question"]
    return texts + [c["text"] for c in load_jsonl(POLICY_CASES)]


def timed(detector: InjectionDetector, texts: list[str]) -> dict:
    detector.check("warm up")
    times = []
    for n, text in enumerate(texts):
        started = time.perf_counter()
        detector.check(f"{text} ({n})")
        times.append((time.perf_counter() - started) * 1e3)
    times.sort()
    return {"n": len(times), "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path,
                        default=Path("evals/reports/guards/injection_latency.json"))
    parser.add_argument("--embedders", nargs="+", default=["minilm", "minilm-int8"],
                        help="which embedders to time (the fp32 one is slow under load)")
    args = parser.parse_args()
    from copilot.build import build_embedder

    texts = questions()
    result: dict[str, Any] = {"load_average_at_start": os.getloadavg(), "cpus": os.cpu_count(),
              "rules_only": timed(InjectionDetector(), texts)}
    for name in args.embedders:
        detector = InjectionDetector(embed=build_embedder(name).embed)
        result[name] = timed(detector, texts)
        result[name]["classifier_active"] = detector.classifier_active
    result["load_average_at_end"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", "utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
