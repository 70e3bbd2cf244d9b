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


@pytest.mark.parametrize("doc_id, quote, expected", [
    ("SOP-PRD-003", "anything at all", True),  # the gold document
    ("MAN-TP-07", "Check the punch gap every hour.", False),  # another document, no facts
    ("MAN-TP-07", "Each tablet weighs 152 mg on average.", False),  # only one of two facts
    ("MAN-TP-07", "Weight limits: 152 mg to 168 mg.", True),  # every key fact
])
def test_citation_supports_when_gold_or_stating_the_facts(doc_id, quote, expected):
    from evals.answers import supports
    from evals.dataset import Case
    case = Case(id="t", question="q", doc="SOP-PRD-003", evidence="152 mg to 168 mg (160 mg ±5 %)",
                key_facts=["152 mg", "168 mg"])
    assert supports(case, doc_id, f"/x/{doc_id}.md", quote) is expected
