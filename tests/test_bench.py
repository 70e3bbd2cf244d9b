"""`copilot bench`: the statistics and the markdown writer (fast), and one real quick run on a
tiny plan (slow) that must produce every figure. Figures are never compared with targets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from copilot import demo_plant_path
from evals.bench import write_outputs
from evals.bench_stats import TABLE_ROWS, percentile, render_markdown, summarize


@pytest.mark.light
def test_percentile_interpolates_between_ranks():
    values = [40.0, 10.0, 30.0, 20.0]  # unsorted on purpose
    assert percentile(values, 0.0) == 10.0
    assert percentile(values, 1.0) == 40.0
    assert percentile(values, 0.5) == 25.0  # mean of the two middle values
    assert percentile(list(range(101)), 0.95) == pytest.approx(95.0)
    assert percentile([7.0], 0.99) == 7.0
    with pytest.raises(ValueError):
        percentile([], 0.5)
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


@pytest.mark.light
def test_summarize_gives_ordered_figures():
    figures = summarize([5.0, 1.0, 3.0, 100.0, 2.0])
    assert figures["n"] == 5
    assert figures["p50"] == 3.0
    assert figures["max"] == 100.0
    assert figures["mean"] == pytest.approx(22.2)
    assert figures["p50"] <= figures["p95"] <= figures["p99"] <= figures["max"]
    assert summarize([]) == {"n": 0}  # absent, never a zero that looks measured


@pytest.mark.light
def test_markdown_lists_present_figures_and_leaves_out_missing_ones(tmp_path):
    results = {
        "machine": {"cpus": 2},
        "ingest": {"files_per_second": 2.25, "chunks_per_second": 29.18},
        "llm": {"llama_options": {"n_threads": 1},
                "pipeline": {"ttft_s": {"p50": 0.8123}}, "bare": {"ttft_s": {"p50": 0.41}},
                "overhead_pct": {"p50": 12.5}},
        "guards": {"pii_scrub_ms": {"p50": 9.5, "p95": 31.0}},
        "audit": {"append_ms": {"p50": 1.2, "p99": 4.75}},
        "memory": {"bench_peak_rss_mb": 1536.4, "model_load": {"skipped": "not a GGUF"}},
        "retrieval": {"10000": {"chunks": 10000, "queries": 72, "p50_ms": 28.2, "p95_ms": 71.4}},
        "notes": ["policy checker absent: not measured"],
    }
    text = render_markdown(results)
    assert "| ingest | chunks per second | 29.2 | chunks/s |" in text
    assert "| model | time to first token, pipeline p50 | 0.812 | s |" in text
    assert "| model | llama.cpp threads (both sides) | 1 |  |" in text
    assert "| model | pipeline overhead over bare generation, p50 | 12.5 | % |" in text
    assert "| audit | append p99 | 4.75 | ms |" in text
    assert "| memory | peak RSS of the bench process | 1,536 | MB |" in text
    assert "| 10,000 | 72 | 28.2 | 71.4 |" in text
    assert "- policy checker absent: not measured" in text
    # Parts that were not measured have no row (no "None", no zero standing in for them).
    assert "injection" not in text and "None" not in text
    assert "peak RSS of a process loading the model" not in text
    write_outputs(results, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "bench.json").read_text()) == results
    assert (tmp_path / "out" / "bench.md").read_text() == text


@pytest.mark.light
def test_every_table_row_points_into_a_known_section():
    sections = {"ingest", "llm", "guards", "audit", "memory"}
    assert {path[0] for *_, path in TABLE_ROWS} == sections


def _positive(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


# The gold documents of the first model questions (see evals.bench.model_cases): a small
# corpus keeps the ingest short, and the pipeline still has something to answer from.
TINY_PLANT = ("DEV-2026-019.md", "DEV-2026-027.md", "DEV-2026-004.md", "DEV-2025-031.md")


@pytest.mark.slow
def test_quick_bench_on_a_tiny_plan_writes_every_figure(tmp_path):
    corpus = tmp_path / "plant"
    corpus.mkdir()
    for name in TINY_PLANT:
        shutil.copy(demo_plant_path() / "deviations" / name, corpus / name)
    out = tmp_path / "bench"
    script = Path(sys.executable).with_name("copilot")
    # One llama.cpp thread: with every core, its spinning workers crawl on a busy machine.
    # A short prompt and answer: prompt evaluation dominates the run time on a CPU.
    env = {**os.environ, "COPILOT_HOME": str(tmp_path / "untouched"), "COPILOT_LLM_THREADS": "1",
           "COPILOT_LLM_MAX_TOKENS": "48", "COPILOT_PROMPT_BUDGET": "250",
           "COPILOT_LLM_CONTEXT": "1024"}
    done = subprocess.run([str(script), "bench", "--quick", "--out", str(out), "--questions",
                           "1", "--sizes", "100", "--appends", "50", "--texts", "10",
                           "--no-thread-scan", "--corpus", str(corpus)],
                          capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "bench.json").read_text())
    for figure in (results["ingest"]["files_per_second"], results["ingest"]["chunks_per_second"],
                   results["llm"]["pipeline"]["ttft_s"]["p50"],
                   results["llm"]["bare"]["ttft_s"]["p50"],
                   results["llm"]["pipeline"]["tokens_per_s"]["p50"],
                   results["llm"]["bare"]["tokens_per_s"]["p50"],
                   results["llm"]["pipeline"]["total_s"]["p50"],
                   results["guards"]["pii_scrub_ms"]["p50"],
                   results["guards"]["pii_scrub_ms"]["p95"],
                   results["guards"]["password_hash_ms"]["p50"],
                   results["audit"]["append_ms"]["p50"], results["audit"]["append_ms"]["p99"],
                   results["retrieval"]["100"]["p50_ms"], results["retrieval"]["100"]["p95_ms"],
                   results["memory"]["bench_peak_rss_mb"],
                   results["memory"]["model_load"]["peak_rss_mb"]):
        assert _positive(figure), figure
    # The embedders side by side and the cold start (issue 17).
    for figure in (results["embedding"]["int8_chunks_per_s"],
                   results["embedding"]["fp32_chunks_per_s"], results["embedding"]["speedup"],
                   results["cold_start"]["search_s"], results["cold_start"]["ask_s"]):
        assert _positive(figure), figure
    assert results["embedding"]["int8"].startswith("onnx-int8:")
    assert results["embedding"]["cosine_int8_fp32"]["min"] > 0.9
    search_imports = results["cold_start"]["search_imports_ms"]
    assert "onnxruntime" in search_imports and "torch" not in search_imports
    assert "llama_cpp" not in search_imports
    assert "p95_ms_100k" not in results["retrieval"]  # 100,000 was not among the sizes
    assert any("p95_ms_100k not measured" in note for note in results["notes"])
    # Overhead may in principle be negative (the pipeline's draft shorter); it must be a number.
    assert isinstance(results["llm"]["overhead_pct"]["p50"], float)
    assert results["llm"]["questions"] == 1
    # The settings reached both sides.
    assert results["llm"]["llama_options"] == {"n_ctx": 1024, "n_threads": 1, "n_batch": 512}
    assert results["llm"]["max_tokens"] == 48
    assert all(item["bare_tokens"] <= 48 and item["pipeline_tokens"] <= 48
               for item in results["llm"]["items"])
    assert "bare_by_threads" not in results["llm"]
    assert results["ingest"]["files"] == len(TINY_PLANT) and results["ingest"]["failed"] == 0
    assert results["retrieval"]["100"]["chunks"] == 100  # grown with synthetic copies
    assert results["retrieval"]["100"]["queries"] == 10
    assert set(results["stage_seconds"]) >= {"ingest", "llm", "guards", "audit", "total"}
    markdown = (out / "bench.md").read_text()
    assert "| model | time to first token, bare llama.cpp p50 |" in markdown
    assert not (tmp_path / "untouched").exists()  # a temporary home, never the user's
