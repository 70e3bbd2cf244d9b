"""The naive-RAG answer baseline's scoring (its model run is a benchmark, not a test)."""

import pytest

from evals.naive_answers import _DONT_KNOW, summarise


@pytest.mark.parametrize("text,declines", [
    ("I don't know.", True), ("The context does not mention alarm L-04.", True),
    ("This is not stated in the context.", True),
    ("Run the Bowie-Dick test at 134 °C for 3.5 min.", False),
])
def test_what_counts_as_the_naive_model_declining(text, declines):
    assert bool(_DONT_KNOW.search(text)) is declines


def test_summary_counts_declines_facts_and_unsupported_sentences():
    rows = [
        {"answerable": True, "declined": False, "shown_sentences": 2,
         "unsupported_number_sentences": 1, "key_facts_found": 1, "key_facts_total": 2,
         "seconds": 2.0},
        {"answerable": True, "declined": True, "shown_sentences": 0,
         "unsupported_number_sentences": 0, "key_facts_found": 0, "key_facts_total": 1,
         "seconds": 4.0},
        {"answerable": False, "declined": False, "shown_sentences": 2,
         "unsupported_number_sentences": 2, "seconds": 6.0},
    ]
    summary = summarise(rows)
    assert summary["decline_accuracy"] == 0.0 and summary["false_decline_rate"] == 0.5
    assert summary["key_fact_recall"] == pytest.approx(1 / 3)
    assert summary["unsupported_number_rate"] == 0.75 and summary["answer_p50"] == 4.0


def test_summary_scores_evidence_and_gold_like_the_copilot_metrics():
    rows = [
        {"answerable": True, "declined": False, "shown_sentences": 1,
         "unsupported_number_sentences": 0, "key_facts_found": 1, "key_facts_total": 1,
         "evidence_shown": True, "gold_retrieved": True, "seconds": 1.0},
        {"answerable": True, "declined": False, "shown_sentences": 1,
         "unsupported_number_sentences": 1, "key_facts_found": 0, "key_facts_total": 1,
         "evidence_shown": False, "gold_retrieved": True, "seconds": 3.0},
    ]
    summary = summarise(rows)
    assert summary["evidence_shown_rate"] == 0.5 and summary["gold_retrieved_rate"] == 1.0
    assert summary["answer_p95"] == pytest.approx(2.9)  # bench_stats' interpolation


def test_the_report_puts_copilot_and_naive_side_by_side():
    from evals.report import markdown

    results = {"corpus": "demo", "dataset": "demo_qa.jsonl", "cases": 3,
               "answers": {"evidence_shown_rate": 0.9, "citation_precision": 0.95,
                           "decline_accuracy": 1.0},
               "latency": {"evidence_p95": 0.4},
               "naive_rag": {"n": 2, "dataset": "demo_qa.jsonl", "model": "embedded",
                             "evidence_shown_rate": 0.1, "decline_accuracy": 0.0,
                             "answer_p95": 12.5}}
    text = markdown(results, [])
    assert "## Copilot vs naive RAG" in text
    assert "| the case's evidence shown | 0.900 | 0.100 |" in text
    assert "| citation precision | 0.950 | — |" in text  # the naive RAG cites nothing
    assert "| evidence shown p95 (s) (naive: its reply) | 0.400 | 12.500 |" in text
    assert "Copilot vs naive" not in markdown({k: v for k, v in results.items()
                                               if k != "naive_rag"}, [])
