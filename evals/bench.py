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
  6. peak memory: the bench process, and a fresh process that only loads the model.

Figures are measurements of this machine at this moment; tests never assert them.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import resource
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

    @classmethod
    def quick(cls) -> BenchPlan:
        return cls(sizes=[10_000], questions=4, appends=500, guard_rounds=1, logins=5)


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

    embedder.embed = timed_embed
    try:
        started = time.perf_counter()
        report = copilot.ingest([corpus])
        seconds = time.perf_counter() - started
    finally:
        embedder.embed = original  # the embedder is shared by every copilot in the process
    chunks = sum(f.chunks for f in report.files)
    return {"corpus": str(corpus), "files": len(report.files), "failed": len(report.failed),
            "chunks": chunks,
            "seconds": seconds, "files_per_second": len(report.files) / seconds,
            "chunks_per_second": chunks / seconds,
            "embedding_share_pct": spent[0] / seconds * 100}


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
    (out / "bench.md").write_text(render_markdown(results), "utf-8")


__all__ = ["BenchPlan", "run_bench", "write_outputs"]
