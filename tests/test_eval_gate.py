"""CI's quality gate: a stratified sample of the demo QA set through the real pipeline, with
the thresholds checked in at evals/thresholds_ci.json. A quality regression fails the build."""

import json
from pathlib import Path

import pytest

from evals.harness import check_thresholds, run_eval

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]


def test_demo_sample_meets_thresholds(tmp_path):
    results, failures = run_eval(None, REPO / "evals/datasets/demo_qa_ci.jsonl", tmp_path,
                                 thresholds=REPO / "evals/thresholds_ci.json")
    assert failures == [], failures
    for name in ("results.json", "report.md", "report.html", "retrieval.png"):
        assert (tmp_path / name).stat().st_size > 0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["retrieval"]["recall@5"] == results["retrieval"]["recall@5"]
    assert {"hybrid", "dense", "bm25", "naive"} <= set(saved["retrieval_modes"])
    assert saved["access"]["leaks"] == 0


def test_thresholds_catch_a_regression():
    results = {"retrieval": {"recall@5": 0.7}, "access": {"leaks": 1}}
    failures = check_thresholds(results, {"retrieval.recall@5": {"min": 0.85},
                                          "access.leaks": {"max": 0},
                                          "answers.decline_accuracy": {"min": 0.9}})
    assert len(failures) == 3 and "not measured" in failures[2]
