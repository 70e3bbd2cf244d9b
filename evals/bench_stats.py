"""Statistics and the markdown table of `copilot bench`: no timing happens here."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable


def percentile(values: Iterable[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation between the closest ranks (the method
    of numpy's default), so p50 of an even count is the mean of the two middle values."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of no values")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile {q} is outside 0..1")
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values: Iterable[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99 and max of a list of samples (in whatever unit they are);
    only n (0) when there are none, so that a missing figure is absent, never a fake zero."""
    ordered = sorted(values)
    if not ordered:
        return {"n": 0}
    return {"n": len(ordered), "mean": statistics.fmean(ordered),
            "p50": percentile(ordered, 0.5), "p95": percentile(ordered, 0.95),
            "p99": percentile(ordered, 0.99), "max": ordered[-1]}


# (section, metric, unit, path in bench.json): the rows of bench.md in order. A path that is
# missing (a part that was skipped or unavailable) leaves its row out.
TABLE_ROWS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("ingest", "files per second", "files/s", ("ingest", "files_per_second")),
    ("ingest", "chunks per second", "chunks/s", ("ingest", "chunks_per_second")),
    ("ingest", "share of time embedding", "%", ("ingest", "embedding_share_pct")),
    ("model", "llama.cpp threads (both sides)", "", ("llm", "llama_options", "n_threads")),
    ("model", "time to first token, pipeline p50", "s", ("llm", "pipeline", "ttft_s", "p50")),
    ("model", "time to first token, bare llama.cpp p50", "s", ("llm", "bare", "ttft_s", "p50")),
    ("model", "tokens per second, pipeline p50", "tok/s", ("llm", "pipeline", "tokens_per_s", "p50")),
    ("model", "tokens per second, bare llama.cpp p50", "tok/s", ("llm", "bare", "tokens_per_s", "p50")),
    ("model", "answer time, pipeline p50", "s", ("llm", "pipeline", "total_s", "p50")),
    ("model", "pipeline overhead over bare generation, p50", "%", ("llm", "overhead_pct", "p50")),
    ("guards", "PII scrub per question p50", "ms", ("guards", "pii_scrub_ms", "p50")),
    ("guards", "PII scrub per question p95", "ms", ("guards", "pii_scrub_ms", "p95")),
    ("guards", "injection check per question p50", "ms", ("guards", "injection_ms", "p50")),
    ("guards", "injection check per question p95", "ms", ("guards", "injection_ms", "p95")),
    ("guards", "policy check per question p50", "ms", ("guards", "policy_ms", "p50")),
    ("guards", "policy check per question p95", "ms", ("guards", "policy_ms", "p95")),
    ("guards", "password hash (scrypt) p50", "ms", ("guards", "password_hash_ms", "p50")),
    ("audit", "append p50", "ms", ("audit", "append_ms", "p50")),
    ("audit", "append p99", "ms", ("audit", "append_ms", "p99")),
    ("memory", "peak RSS of the bench process", "MB", ("memory", "bench_peak_rss_mb")),
    ("memory", "peak RSS of a process loading the model", "MB",
     ("memory", "model_load", "peak_rss_mb")),
    ("memory", "of which the model load", "MB", ("memory", "model_load", "load_delta_mb")),
]


def _lookup(results: dict, path: tuple[str, ...]) -> float | None:
    node: object = results
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def _number(value: float) -> str:
    if isinstance(value, int):
        return f"{value:,}"
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def render_markdown(results: dict) -> str:
    """bench.md: one table of the headline figures, then retrieval latency per index size."""
    lines = ["# copilot bench", ""]
    machine = results.get("machine", {})
    if machine:
        lines += [", ".join(f"{k}: {v}" for k, v in machine.items()), ""]
    lines += ["| part | metric | value | unit |", "| --- | --- | ---: | --- |"]
    for section, metric, unit, path in TABLE_ROWS:
        value = _lookup(results, path)
        if value is not None:
            lines.append(f"| {section} | {metric} | {_number(value)} | {unit} |")
    retrieval = results.get("retrieval", {})
    if retrieval:
        lines += ["", "## Retrieval latency (query embedding + dense + BM25 + fusion)", "",
                  "| chunks | queries | p50 ms | p95 ms |", "| ---: | ---: | ---: | ---: |"]
        for row in retrieval.values():
            if not isinstance(row, dict):
                continue  # a summary figure (p95_ms_100k), not an index size
            lines.append(f"| {row['chunks']:,} | {row['queries']} | {_number(row['p50_ms'])} | "
                         f"{_number(row['p95_ms'])} |")
    by_threads = results.get("llm", {}).get("bare_by_threads", {})
    if by_threads and "skipped" not in by_threads:
        lines += ["", "## Bare llama.cpp by thread count (one prompt)", "",
                  "| threads | TTFT s | decode tok/s |", "| ---: | ---: | ---: |"]
        for threads, row in by_threads.items():
            rate = row.get("tokens_per_s")
            lines.append(f"| {threads} | {_number(row['ttft_s'])} | "
                         f"{_number(rate) if rate else 'n/a'} |")
    notes = results.get("notes", [])
    if notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(lines) + "\n"
