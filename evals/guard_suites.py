"""Guard suites: PII, prompt-injection and GMP-policy figures over their JSONL sets.

    python -m evals.guard_suites --out DIR [--no-pii] [--tune]

Keys (issue 4): `pii.recall`, `pii.precision`, `pii.hard_negative_fp_rate`,
`injection.detection_rate`, `injection.false_positive_rate`, `policy.accuracy`, each over the
whole set, with the tune and test splits also reported on their own (`<suite>.splits.test`).
Policy cases with a `role` are checked as asked by that role (`policy.role_aware` gives their
accuracy on its own); the others with no role, the strictest reading.
Thresholds of the detectors were tuned on the tune split only (`--tune` shows the sweep).
Writes DIR/guards.json; `copilot eval` adds the same figures to results.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

from guardrails import CachedEmbed, InjectionDetector, PolicyChecker, Scrubber

from . import bench_pii

DATASETS = Path(__file__).parent / "datasets"
REPORTS = Path(__file__).parent / "reports" / "guards"
INJECTION_CASES = DATASETS / "injection_cases.jsonl"
POLICY_CASES = DATASETS / "policy_cases.jsonl"
Embed = Callable[[list[str]], np.ndarray]


def load_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text("utf-8").splitlines()
            if line.strip()]


def _p50(times: list[float]) -> float:
    return round(statistics.median(times), 3) if times else 0.0


# ---- injection --------------------------------------------------------------------------
# Kinds of text screened through the ingest path; every other kind is a question.
DOCUMENT_KINDS = ("indirect", "benign_document")


def injection_figures(cases: list[dict], flagged: dict[str, bool]) -> dict:
    attacks = [c for c in cases if c["label"]]
    benign = [c for c in cases if not c["label"]]
    kinds = sorted({c["kind"] for c in cases})
    return {
        "cases": len(cases), "attacks": len(attacks), "hard_negatives": len(benign),
        "detection_rate": sum(flagged[c["id"]] for c in attacks) / max(len(attacks), 1),
        "false_positive_rate": sum(flagged[c["id"]] for c in benign) / max(len(benign), 1),
        "by_kind": {k: sum(flagged[c["id"]] == c["label"] for c in cases if c["kind"] == k)
                    / sum(1 for c in cases if c["kind"] == k) for k in kinds},
        "missed": [c["id"] for c in attacks if not flagged[c["id"]]],
        "false_positives": [c["id"] for c in benign if flagged[c["id"]]],
    }


def injection_suite(detector: InjectionDetector, cases: list[dict]) -> dict:
    flagged, times = {}, []
    for case in cases:
        started = time.perf_counter()
        # Document text goes through the ingest path, questions through the question path.
        check = detector.check_document if case["kind"] in DOCUMENT_KINDS else detector.check
        flagged[case["id"]] = check(case["text"]).flagged
        times.append((time.perf_counter() - started) * 1e3)
    result = injection_figures(cases, flagged)
    # `fresh`: cases written after tuning, measured once as an unseen set (SOURCES.md).
    result["splits"] = {s: injection_figures([c for c in cases if c.get("split") == s], flagged)
                        for s in ("tune", "test", "fresh")}
    result["latency_ms_p50"] = _p50(times)
    return result


def injection_fresh_reports(reports: Path = REPORTS, prefix: str = "injection_fresh") -> dict:
    """A fresh set's figures as measured once before and once after tuning (issue 16),
    read from their reports: the fresh set is not measured again on every eval run."""
    out = {}
    for when in ("before", "after"):
        path = reports / f"{prefix}_{when}.json"
        if path.exists():
            report = json.loads(path.read_text("utf-8"))
            out[when] = {k: report[k] for k in (
                "detection_rate", "false_positive_rate", "operator_questions_flagged_rate",
                "latency_ms_p50", "measured_at") if k in report}
            out[when]["by_kind"] = {k: v["flagged_rate"] for k, v in report["by_kind"].items()}
    return out


def policy_fresh_reports(reports: Path = REPORTS, prefix: str = "policy_fresh2") -> dict:
    """The policy fresh set's before/after figures, per kind, as `evals.policy_fresh` wrote
    them (the text as written; the scrubbed variant is in the report)."""
    out = {}
    for when in ("before", "after"):
        path = reports / f"{prefix}_{when}.json"
        if path.exists():
            raw = json.loads(path.read_text("utf-8"))["raw"]
            out[when] = {k: raw[k] for k in ("cases", "accuracy", "violations_caught",
                                             "refused_legit_rate") if k in raw}
            out[when]["by_kind"] = {k: v["accuracy"] for k, v in raw["by_kind"].items()}
    return out


def pii_fresh_reports(reports: Path = REPORTS, prefix: str = "pii_fresh2") -> dict:
    """The PII fresh set's before/after figures, per entity type, as `evals.bench_pii` wrote
    them."""
    out = {}
    for when in ("before", "after"):
        path = reports / f"{prefix}_{when}.json"
        if path.exists():
            report = json.loads(path.read_text("utf-8"))
            out[when] = {k: report[k] for k in ("cases", "span_recall", "span_precision",
                                                "hard_negative_fp_rate") if k in report}
            out[when]["by_entity"] = {k: {"recall": v["recall"], "precision": v["precision"]}
                                      for k, v in report["per_type"].items()}
    return out


def fresh_reports() -> dict:
    """Every guard's fresh sets, as measured before and after tuning."""
    return {"injection_fresh": injection_fresh_reports(),
            "injection_fresh2": injection_fresh_reports(prefix="injection_fresh2"),
            "injection_fresh3": injection_fresh_reports(prefix="injection_fresh3"),
            "injection_fresh4": injection_fresh_reports(prefix="injection_fresh4"),
            "injection_fresh5": injection_fresh_reports(prefix="injection_fresh5"),
            "injection_fresh6": injection_fresh_reports(prefix="injection_fresh6"),
            "injection_fresh7": injection_fresh_reports(prefix="injection_fresh7"),
            "policy_fresh2": policy_fresh_reports(),
            "policy_fresh3": policy_fresh_reports(prefix="policy_fresh3"),
            "policy_fresh4": policy_fresh_reports(prefix="policy_fresh4"),
            "policy_fresh5": policy_fresh_reports(prefix="policy_fresh5"),
            "policy_fresh6": policy_fresh_reports(prefix="policy_fresh6"),
            "pii_fresh2": pii_fresh_reports(),
            "pii_fresh3": pii_fresh_reports(prefix="pii_fresh3")}


# ---- policy -----------------------------------------------------------------------------
def policy_figures(cases: list[dict], predicted: dict[str, tuple[str, str | None]]) -> dict:
    def correct(case: dict) -> bool:
        return predicted[case["id"]] == (case["action"], case.get("rule"))

    confusion: dict[str, Counter] = {}
    for case in cases:
        expected = case.get("rule") or "answer"
        confusion.setdefault(expected, Counter())[predicted[case["id"]][1] or "answer"] += 1
    near = [c for c in cases if c["action"] == "answer"]
    violations = [c for c in cases if c["action"] != "answer"]
    role_aware = [c for c in cases if c.get("role")]
    # per kind: the expected intent, or "answer" for a near-miss (issue 16: policy.by_kind)
    kinds = sorted({c.get("rule") or "answer" for c in cases})
    return {
        "cases": len(cases),
        "accuracy": sum(map(correct, cases)) / max(len(cases), 1),
        "by_kind": {k: sum(correct(c) for c in cases if (c.get("rule") or "answer") == k)
                    / sum(1 for c in cases if (c.get("rule") or "answer") == k) for k in kinds},
        "role_aware": {"cases": len(role_aware),
                       "accuracy": sum(map(correct, role_aware)) / max(len(role_aware), 1)},
        "near_miss_answered": sum(predicted[c["id"]][0] == "answer" for c in near)
        / max(len(near), 1),
        "violations_caught": sum(predicted[c["id"]][0] != "answer" for c in violations)
        / max(len(violations), 1),
        "confusion": {k: dict(v) for k, v in sorted(confusion.items())},
        "wrong": [{"id": c["id"], "role": c.get("role"),
                   "expected": [c["action"], c.get("rule")],
                   "got": list(predicted[c["id"]])} for c in cases if not correct(c)],
    }


def policy_suite(checker: PolicyChecker, cases: list[dict]) -> dict:
    predicted: dict[str, tuple[str, str | None]] = {}
    times: list[float] = []
    for case in cases:
        started = time.perf_counter()
        verdict = checker.check(case["text"], role=case.get("role"))
        times.append((time.perf_counter() - started) * 1e3)
        predicted[case["id"]] = (verdict.action, verdict.rule)
    result = policy_figures(cases, predicted)
    result["splits"] = {s: policy_figures([c for c in cases if c.get("split") == s], predicted)
                        for s in ("tune", "test")}
    result["latency_ms_p50"] = _p50(times)
    return result


# ---- PII (the figures of evals/bench_pii.py under the suite's keys) ---------------------
def pii_suite(scrubber: Scrubber, dataset: Path = bench_pii.DEFAULT_DATASET) -> dict:
    cases = bench_pii.load_cases(dataset)
    scrubber.clear_recent()  # time the analysis of each case, never a kept result
    times, found = [], {}
    for case in cases:
        started = time.perf_counter()
        found[case["id"]] = scrubber.analyze(case["text"])
        times.append((time.perf_counter() - started) * 1e3)
    scored = bench_pii.score(cases, found)
    return {"cases": len(cases), "recall": scored["core_recall"],
            "precision": scored["core_precision"],
            "hard_negative_fp_rate": scored["hard_negative_fp_rate"],
            "hard_negatives_flagged": scored["hard_negatives_flagged"],
            "by_entity": {t: {"gold": r["gold"], "found": r["found"], "recall": r["recall"],
                              "precision": r["precision"]}
                          for t, r in scored["per_type"].items() if r["gold"] or r["found"]},
            "latency_ms_p50": _p50(times)}


def guard_latency(embed: Embed, scrubber: Scrubber | None, questions: list[str]) -> dict:
    """Per question: scrub, injection check and policy check, as the pipeline runs them."""
    shared = CachedEmbed(embed)  # one embedding per question for both checks
    detector, checker = InjectionDetector(embed=shared), PolicyChecker(embed=shared)
    detector.check("warm up"), checker.check("warm up")
    if scrubber:
        scrubber.clear_recent()
    times = []
    for question in questions:
        started = time.perf_counter()
        text = scrubber.scrub(question).text if scrubber else question
        detector.check(text)
        checker.check(text)
        times.append((time.perf_counter() - started) * 1e3)
    return {"n": len(times), "p50_ms": _p50(times),
            "p95_ms": round(sorted(times)[int(0.95 * (len(times) - 1))], 3) if times else 0.0}


def run_guard_suites(embed: Embed, scrubber: Scrubber | None = None) -> dict:
    injection_cases, policy_cases = load_jsonl(INJECTION_CASES), load_jsonl(POLICY_CASES)
    results = {
        "injection": injection_suite(InjectionDetector(embed=embed), injection_cases),
        **fresh_reports(),
        "policy": policy_suite(PolicyChecker(embed=embed), policy_cases),
    }
    if scrubber is not None:
        results["pii"] = pii_suite(scrubber)
    questions = [c["text"] for c in injection_cases if c["kind"] == "benign_question"] \
        + [c["text"] for c in policy_cases]
    results["guard_latency"] = guard_latency(embed, scrubber, questions)
    return results


# ---- tuning (tune split only) -----------------------------------------------------------
def tune(embed: Embed) -> dict:
    tune_inj = [c for c in load_jsonl(INJECTION_CASES) if c["split"] == "tune"]
    tune_pol = [c for c in load_jsonl(POLICY_CASES) if c["split"] == "tune"]
    embed = CachedEmbed(embed, maxsize=100_000)  # the sweep embeds the same texts many times
    rows: dict[str, list[tuple[float, ...]]] = {"injection": [], "policy": []}
    for min_attack in (0.45, 0.5, 0.55, 0.6, 0.65):
        for min_margin in (0.0, 0.03, 0.06, 0.1):
            detector = InjectionDetector(embed=embed)
            detector.min_attack, detector.min_margin = min_attack, min_margin
            f = injection_suite(detector, tune_inj)
            rows["injection"].append((min_attack, min_margin, round(f["detection_rate"], 3),
                                      round(f["false_positive_rate"], 3)))
    # the classifier's own settings are swept by evals/policy_tune.py
    for threshold in (0.4, 0.5, 0.6, 0.7):
        f = policy_suite(PolicyChecker(embed=embed, threshold=threshold), tune_pol)
        rows["policy"].append((threshold, round(f["accuracy"], 3),
                               round(f["near_miss_answered"], 3)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="evals/results")
    parser.add_argument("--no-pii", action="store_true", help="skip the Presidio suite")
    parser.add_argument("--tune", action="store_true", help="sweep thresholds on the tune split")
    args = parser.parse_args()
    from copilot import Settings
    from copilot.build import build_embedder

    embed = build_embedder(Settings().embedder).embed  # the product's (the weights match it)
    if args.tune:
        for suite, rows in tune(embed).items():
            print(suite)
            for row in rows:
                print("  ", row)
        return
    scrubber = None
    if not args.no_pii:
        from guardrails import PresidioScrubber

        scrubber = PresidioScrubber()
    results = run_guard_suites(embed, scrubber)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "guards.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")
    print(summary(results))


def summary(results: dict) -> str:
    lines = []
    for suite, keys in (("injection", ("detection_rate", "false_positive_rate")),
                        ("policy", ("accuracy", "near_miss_answered", "violations_caught")),
                        ("pii", ("recall", "precision", "hard_negative_fp_rate"))):
        if suite not in results:
            continue
        row = results[suite]
        lines.append(f"{suite}: " + ", ".join(f"{k} {row[k]:.3f}" for k in keys))
        for split, part in row.get("splits", {}).items():
            lines.append(f"  {split}: " + ", ".join(f"{k} {part[k]:.3f}" for k in keys)
                         + (f", role-aware accuracy {part['role_aware']['accuracy']:.3f} "
                            f"({part['role_aware']['cases']} cases)"
                            if part.get("role_aware", {}).get("cases") else ""))
    lines.append(f"guard latency per question: {results['guard_latency']}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
