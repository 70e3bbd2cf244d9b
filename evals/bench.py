"""`copilot bench`: the copilot's performance figures in one run, to bench.json and bench.md.

    copilot bench [--out DIR] [--quick] [--questions N] [--sizes 10000 100000]

Everything runs in a temporary home (never the user's), on the bundled demo plant:
  1. ingest throughput (files/s, chunks/s, share of time embedding);
  2. the configured chat model in the pipeline against bare llama-cpp-python on the same
     prompts: TTFT, decode tokens/s, pipeline overhead (see evals/bench_llm.py);
  3. guard overheads per question: PII scrub, injection and policy checks (when this build
     has them), and the scrypt password check of a login;
  4. audit append latency (one durable, hash-chained record each);
  5. retrieval latency p50/p95 at each index size; sizes past the demo plant are reached with
     synthetic copies of its chunks (evals/bench_retrieval.py), which is why this runs last:
     the model questions above must see the real demo plant only;
  6. peak memory: the bench process, and a fresh process that only loads the model;
  7. the embedders side by side: the int8 ONNX embedder (the default) against the fp32 torch
     one on the same chunks in the same run, rounds interleaved (other work on the machine
     then weighs on both alike);
  8. cold start: `copilot search` and `copilot ask` in fresh processes (disk cache warmed by a
     first run), and what each heavy import costs in them (python -X importtime).

Figures are measurements of this machine at this moment; tests never assert them.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from copilot import Copilot, Settings, demo_plant_path

from .bench_audit import bench_append
from .bench_llm import bench_llm, model_load_memory, rendered_prompt, thread_scan
from .bench_pii import latency_ms
from .bench_retrieval import bench_queries, grow_index
from .bench_stats import render_markdown, summarize
from .dataset import Case, load_cases

QUESTIONS = Path(__file__).parent / "datasets" / "demo_qa.jsonl"


@dataclass
class BenchPlan:
    sizes: list[int] = field(default_factory=lambda: [10_000, 100_000])
    questions: int = 8  # model questions (pipeline and bare each)
    appends: int = 2000
    guard_rounds: int = 3  # passes over the demo questions for each guard
    logins: int = 10
    thread_scan: bool = True  # bare decode rate at 1 thread and at every core
    texts: int | None = None  # demo questions for guard and retrieval timings (None: all 72)
    corpus: Path | None = None  # what to ingest (None: the bundled demo plant)
    embed_rounds: int = 3  # interleaved int8 / fp32 rounds over the ingested chunks
    embed_chunks: int | None = None  # None: every ingested chunk
    cold_runs: int = 3  # timed fresh processes per command (after one that warms the disk)

    @classmethod
    def quick(cls) -> BenchPlan:
        return cls(sizes=[10_000], questions=4, appends=500, guard_rounds=1, logins=5,
                   embed_rounds=2, embed_chunks=None, cold_runs=1)


def run_bench(out: Path, plan: BenchPlan, log=print) -> dict:
    cases = load_cases(QUESTIONS)
    texts = [c.question for c in cases][: plan.texts or None]
    results: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                 "platform": platform.platform(),
                                 # Other work on the machine shows in every figure.
                                 "load_average_before": os.getloadavg()},
                     "plan": {k: str(v) if isinstance(v, Path) else v
                              for k, v in plan.__dict__.items()}, "notes": [], "stage_seconds": {}}
    began = time.perf_counter()

    @contextmanager
    def stage(name: str, what: str):
        log(f"[{time.perf_counter() - began:6.1f} s] {what} ...")
        started = time.perf_counter()
        yield
        results["stage_seconds"][name] = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="copilot-bench-") as tmp:
        home = Path(tmp) / "home"
        corpus = plan.corpus or demo_plant_path()
        with stage("ingest", f"ingesting {corpus}"):
            results["ingest"] = measure_ingest(home, corpus)
        with stage("embedding", "embedders: int8 ONNX against fp32 torch on the same chunks"):
            results["embedding"] = measure_embedders(home, plan)
        with stage("cold_start", "cold start: copilot search and ask in fresh processes"):
            results["cold_start"] = measure_cold_start(home, cases, plan.cold_runs)
        copilot = Copilot.from_settings(Settings(home=home))
        if copilot.settings.llm_threads:
            results["notes"].append(f"COPILOT_LLM_THREADS={copilot.settings.llm_threads} for "
                                    f"this run (the default, 0, uses every core)")

        with stage("llm", f"model: pipeline against bare llama.cpp on {plan.questions} "
                          f"questions"):
            results["llm"] = bench_llm(copilot, model_cases(cases), plan.questions)
        if "skipped" in results["llm"]:
            results["notes"].append(f"model figures skipped: {results['llm']['skipped']}")
        elif plan.thread_scan:
            with stage("thread_scan", "model: bare decode rate by thread count"):
                first = results["llm"]["items"][0]
                prompt = rendered_prompt(copilot, first["question"], first["role"])
                results["llm"]["bare_by_threads"] = thread_scan(copilot.settings, prompt)

        with stage("guards", f"guards on {len(texts)} questions"):
            results["guards"] = bench_guards(copilot, texts, plan, Path(tmp), results["notes"])

        with stage("audit", f"audit: {plan.appends} appends"):
            append = bench_append(Path(tmp), plan.appends)
            results["audit"] = {"append_ms": {
                "n": append["n"], "mean": append["mean_ms"], "p50": append["p50_ms"],
                "p90": append["p90_ms"], "p99": append["p99_ms"], "max": append["max_ms"]}}

        results["retrieval"] = {}
        for size in sorted(plan.sizes):
            with stage(f"retrieval_{size}", f"retrieval at {size:,} chunks"):
                if copilot.kb.vectors.count() < size:  # the demo plant alone may be enough
                    grow_index(copilot, size)
                figures = bench_queries(copilot, texts)
                figures["chunks"] = copilot.kb.vectors.count()
                results["retrieval"][str(size)] = figures
        if "100000" in results["retrieval"]:
            results["retrieval"]["p95_ms_100k"] = results["retrieval"]["100000"]["p95_ms"]
        else:
            results["notes"].append("retrieval.p95_ms_100k not measured: 100,000 is not among "
                                    "the sizes of this run (add --sizes 100000)")

    with stage("model_load_probe", "memory of a model load"):
        model_load = model_load_memory(copilot.settings)
    results["machine"]["load_average_after"] = os.getloadavg()
    results["memory"] = {
        # ru_maxrss is in KiB on Linux: the high-water mark of everything above.
        "bench_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "model_load": model_load,
    }
    results["stage_seconds"]["total"] = time.perf_counter() - began
    results["notes"] += NOTES
    write_outputs(results, out)
    return results


def measure_ingest(home: Path, corpus: Path) -> dict:
    """Files/s and chunks/s of a first ingest into an empty home, and the share of that time
    spent embedding (the embedder is wrapped to time it, its results untouched)."""
    copilot = Copilot.from_settings(Settings(home=home))
    embedder = copilot.kb.embedder
    original, spent = embedder.embed, [0.0]

    def timed_embed(texts):
        started = time.perf_counter()
        try:
            return original(texts)
        finally:
            spent[0] += time.perf_counter() - started

    embedder.embed = timed_embed  # type: ignore[method-assign]
    try:
        started = time.perf_counter()
        report = copilot.ingest([corpus])
        seconds = time.perf_counter() - started
    finally:
        embedder.embed = original  # type: ignore[method-assign]  # the embedder is shared by every copilot in the process
    chunks = sum(f.chunks for f in report.files)
    return {"corpus": str(corpus), "files": len(report.files), "failed": len(report.failed),
            "chunks": chunks,
            "seconds": seconds, "files_per_second": len(report.files) / seconds,
            "chunks_per_second": chunks / seconds,
            "embedding_share_pct": spent[0] / seconds * 100}


def measure_embedders(home: Path, plan: BenchPlan) -> dict:
    """Chunks/s of the int8 ONNX embedder and the fp32 torch embedder on the same texts (the
    chunks just ingested), rounds interleaved; each embedder's best round counts (the least
    disturbed by other work), every round is kept. Also how far int8 moves the vectors."""
    import numpy as np

    from knowledge import KnowledgeBase, make_embedder

    int8, fp32 = make_embedder("minilm-int8"), make_embedder("minilm")
    rows = KnowledgeBase(home, int8).catalog.all_chunks()[: plan.embed_chunks or None]
    texts = [f"{r['context']}\n{r['text']}" for r in rows]
    rounds: dict[str, list[float]] = {"int8": [], "fp32": []}
    vectors = {}
    for embedder in (int8, fp32):  # warm-up: first-call allocations, thread pools
        embedder.embed(texts[:32])
    for _ in range(max(1, plan.embed_rounds)):
        for name, embedder in (("int8", int8), ("fp32", fp32)):
            embedder.clear_cache()  # type: ignore[attr-defined]  # both are CachingEmbedders
            started = time.perf_counter()
            vectors[name] = embedder.embed(texts)
            rounds[name].append(len(texts) / (time.perf_counter() - started))
    cosines = np.sum(vectors["int8"] * vectors["fp32"], axis=1)
    best = {name: max(values) for name, values in rounds.items()}
    return {"chunks": len(texts), "int8_chunks_per_s": best["int8"],
            "fp32_chunks_per_s": best["fp32"], "speedup": best["int8"] / best["fp32"],
            "rounds_chunks_per_s": rounds, "int8": int8.identity, "fp32": fp32.identity,
            "cosine_int8_fp32": {"min": float(cosines.min()), "mean": float(cosines.mean())}}


# Heavy imports whose cost a cold start reports (the package's own cumulative import time).
HEAVY_IMPORTS = ("numpy", "onnxruntime", "tokenizers", "torch", "transformers",
                 "sentence_transformers", "chromadb", "bm25s", "langchain_core", "spacy",
                 "presidio_analyzer", "llama_cpp", "gradio")


def measure_cold_start(home: Path, cases: list[Case], runs: int) -> dict:
    """Seconds from starting a fresh `copilot search` / `copilot ask` process to its exit
    (the answer printed), on the just-ingested home. A first, untimed run under
    `python -X importtime` warms the disk cache and tells what each heavy import costs and
    which were loaded at all; then the median of `runs` timed runs."""
    question = next(c.question for c in cases if c.answerable and not c.expect_restricted)
    script = str(Path(sys.executable).with_name("copilot"))
    env = {**os.environ, "COPILOT_HOME": str(home)}
    out: dict = {"question": question}
    for name, argv in (("search", ["search", question]), ("ask", ["ask", question])):
        def run(*prefix: str, argv=argv) -> subprocess.CompletedProcess:
            done = subprocess.run([*prefix, script, *argv], env=env, capture_output=True,
                                  text=True, timeout=600)
            if done.returncode != 0:
                raise RuntimeError(f"copilot {argv[0]} failed: {done.stderr[-2000:]}")
            return done

        out[f"{name}_imports_ms"] = _import_costs(run(sys.executable, "-X", "importtime").stderr)
        seconds, cpu = [], []
        for _ in range(max(1, runs)):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            run()
            seconds.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        out[f"{name}_s"] = statistics.median(seconds)
        out[f"{name}_runs_s"] = seconds
        # CPU seconds of the process: on a machine shared with other work the wall time
        # grows with the load, the CPU time much less.
        out[f"{name}_cpu_s"] = statistics.median(cpu)
    return {"search_s": out.pop("search_s"), "ask_s": out.pop("ask_s"), **out}


def _import_costs(importtime: str) -> dict[str, float]:
    """Cumulative import time (ms) of each heavy package the process imported."""
    costs: dict[str, float] = {}
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        name, cumulative_us = parts[2].strip(), parts[1].strip()
        # Under 0.1 ms is no import but a refused one: the scrubber hides torch and
        # transformers while Presidio loads (guardrails/pii.py), and importtime lists those.
        if name in HEAVY_IMPORTS and name not in costs and cumulative_us.isdigit() \
                and int(cumulative_us) >= 100:
            costs[name] = int(cumulative_us) / 1000
    return costs


def extra_markdown(results: dict) -> str:
    """The embedder comparison and the cold start, after the headline table."""
    lines: list[str] = []
    embedding = results.get("embedding")
    if embedding:
        lines += ["", f"## Embedders on the same {embedding['chunks']} chunks (best of "
                      f"{len(embedding['rounds_chunks_per_s']['int8'])} interleaved rounds)", "",
                  "| embedder | chunks/s |", "| --- | ---: |",
                  f"| int8 ONNX ({embedding['int8']}) | {embedding['int8_chunks_per_s']:.1f} |",
                  f"| fp32 torch ({embedding['fp32']}) | {embedding['fp32_chunks_per_s']:.1f} |",
                  "", f"Speed-up {embedding['speedup']:.2f}x; cosine int8 to fp32: min "
                      f"{embedding['cosine_int8_fp32']['min']:.4f}, mean "
                      f"{embedding['cosine_int8_fp32']['mean']:.4f}."]
    cold = results.get("cold_start")
    if cold:
        lines += ["", "## Cold start (fresh process, warm disk cache, to exit)", "",
                  "| command | median s | CPU s | imports (cumulative ms) |",
                  "| --- | ---: | ---: | --- |"]
        for name in ("search", "ask"):
            imports = ", ".join(f"{k} {v:,.0f}" for k, v in
                                sorted(cold[f"{name}_imports_ms"].items(), key=lambda kv: -kv[1]))
            lines.append(f"| copilot {name} | {cold[f'{name}_s']:.2f} | "
                         f"{cold[f'{name}_cpu_s']:.2f} | {imports} |")
    p95 = results.get("retrieval", {}).get("p95_ms_100k")
    if p95 is not None:
        lines += ["", f"Retrieval p95 at 100,000 chunks: {p95:.1f} ms."]
    return "\n".join(lines) + "\n" if lines else ""


NOTES = [
    "Pipeline TTFT counts from the start of the answer pipeline (after the question's PII "
    "scrub): retrieval, the support check, prompt building and prompt evaluation. Bare TTFT "
    "is prompt evaluation only, on exactly the prompt the pipeline rendered.",
    "Tokens/s is the decode rate: tokens after the first over the time after the first.",
    "Overhead: the pipeline's end-to-end answer time (Copilot.ask: scrub, retrieve, generate, "
    "verify grounding, scrub the answer, audit) over the bare model's time for the same number "
    "of tokens.",
    "Retrieval beyond the demo plant's chunks uses synthetic copies with perturbed real "
    "embeddings (evals/bench_retrieval.py).",
]


def model_cases(cases: list[Case]) -> list[Case]:
    """Answerable questions the asker may see, spread over the dataset (dataset order groups
    questions by topic), for the model comparison."""
    usable = [c for c in cases if c.answerable and not c.expect_restricted]
    step = 3  # every third: several topics even in a short run
    return usable[::step] + [c for i, c in enumerate(usable) if i % step]


def bench_guards(copilot: Copilot, questions: list[str], plan: BenchPlan, tmp: Path,
                 notes: list[str]) -> dict:
    guards: dict = {}
    scrubber = copilot.scrubber
    if scrubber is None:
        notes.append("PII scrubbing is off in these settings (COPILOT_SCRUB_PII): not measured")
    else:
        guards["pii_scrub_ms"] = latency_ms(scrubber, questions, plan.guard_rounds)
    embed = copilot.kb.embedder.embed
    for key, name, module in (("injection_ms", "InjectionDetector", "guardrails.injection"),
                              ("policy_ms", "PolicyChecker", "guardrails.policy")):
        guard_class = _optional_guard(name, module, notes)
        if guard_class is None:
            continue
        try:
            guard = guard_class(embed=embed)
            guards[key] = time_per_text(guard.check, questions, plan.guard_rounds)
        except Exception as exc:  # a guard still being written must not sink the bench
            notes.append(f"{name} failed in the bench ({type(exc).__name__}: {exc}): "
                         f"not measured")
    guards["password_hash_ms"] = time_logins(tmp / "users.sqlite", plan.logins)
    return guards


def _optional_guard(name: str, module: str, notes: list[str]):
    import guardrails

    found = getattr(guardrails, name, None)
    if found is not None:
        return found
    try:  # written but not exported yet
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        notes.append(f"guardrails.{name} does not exist in this build: not measured")
        return None
    notes.append(f"guardrails.{name} is not exported yet; measured from {module}")
    return found


def time_per_text(check, texts: list[str], rounds: int) -> dict:
    for text in texts[:5]:
        check(text)  # warm-up: exemplar embeddings, regex compilation caches
    samples = []
    for _ in range(max(1, rounds)):
        for text in texts:
            started = time.perf_counter()
            check(text)
            samples.append((time.perf_counter() - started) * 1e3)
    return summarize(samples)


def time_logins(path: Path, n: int) -> dict:
    """A successful login's password check (scrypt, n=2**14, r=8, p=1) through the store."""
    from guardrails import UserStore

    store = UserStore(path)
    store.add("bench-user", "operator", "bench-password")
    store.authenticate("bench-user", "bench-password")  # warm-up (makes the dummy hash too)
    samples = []
    for _ in range(max(1, n)):
        started = time.perf_counter()
        store.authenticate("bench-user", "bench-password")
        samples.append((time.perf_counter() - started) * 1e3)
    return summarize(samples)


def write_outputs(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                                    "utf-8")
    (out / "bench.md").write_text(render_markdown(results) + extra_markdown(results), "utf-8")


__all__ = ["BenchPlan", "run_bench", "write_outputs"]
