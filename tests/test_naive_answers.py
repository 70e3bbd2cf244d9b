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
