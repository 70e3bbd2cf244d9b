"""Latency of the GMP policy check per question, and of all guards together.

    python -m evals.policy_latency [--out evals/reports/guards/policy_latency.json] [--no-pii]

On the questions of evals/datasets/policy_tune.jsonl: the policy check with nothing cached
(it embeds the question and, for a longer one, its sentences), the policy check after the
injection check embedded the question (the pipeline shares one cache), and the per-question
time of scrub + injection + policy (evals.guard_suites.guard_latency). The machine's load
average is recorded with the figures: 2 cores are shared, and the figures move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

from guardrails import CachedEmbed, InjectionDetector, PolicyChecker

from .guard_suites import guard_latency
from .policy_fresh import load_cases
from .policy_tune import TUNE


def _timed(check, texts: list[str]) -> dict:
    times = []
    for text in texts:
        started = time.perf_counter()
        check(text)
        times.append((time.perf_counter() - started) * 1e3)
    return {"n": len(times), "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="evals/reports/guards/policy_latency.json")
    parser.add_argument("--no-pii", action="store_true", help="all guards without the scrubber")
    args = parser.parse_args()
    from copilot.build import build_embedder

    model = build_embedder("minilm")
    texts = [c["text"] for c in load_cases(TUNE)]
    # A suffix no other run used, so the embedder's own caches cannot answer for it.
    fresh = [f"{t} (latency run {os.getpid()})" for t in texts]
    cold = PolicyChecker(embed=CachedEmbed(model.embed))
    cold.check("warm up")
    results = {"load_average_before": os.getloadavg(),
               "policy_nothing_cached": _timed(cold.check, fresh)}
    shared = CachedEmbed(model.embed)
    injection, policy = InjectionDetector(embed=shared), PolicyChecker(embed=shared)
    policy.check("warm up")
    fresh2 = [f"{t} (shared run {os.getpid()})" for t in texts]
    for text in fresh2:
        injection.check(text)  # embeds the question, as in the pipeline
    results["policy_after_injection_embedded"] = _timed(policy.check, fresh2)
    scrubber = None
    if not args.no_pii:
        from guardrails import PresidioScrubber

        scrubber = PresidioScrubber()
    fresh3 = [f"{t} (all guards {os.getpid()})" for t in texts]
    results["all_guards"] = guard_latency(model.embed, scrubber, fresh3)
    results["load_average_after"] = os.getloadavg()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2), "utf-8")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
