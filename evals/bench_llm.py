"""The configured chat model inside the copilot pipeline against bare llama-cpp-python.

For each question: the pipeline answers it end to end (`Copilot.ask`: scrub, retrieve, support
check, prompt, generate, verify, audit); then a separate, bare `llama_cpp.Llama` on the same
GGUF with the same context, threads, batch size and sampling parameters streams a chat
completion of exactly the prompt the pipeline rendered. Two model instances, each answering
the questions in the same order, so both reuse the previous prompt's prefix alike.

The overhead compares the pipeline's end-to-end time with what the bare model needs for the
same number of tokens: bare TTFT + (pipeline tokens - 1) / bare decode rate. That holds the
answer length fixed even when the two drafts differ slightly.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from copilot import Copilot, Settings
from copilot.llm import bundled_gguf_path
from guardrails import demo_user
from knowledge import SearchFilter

from .bench_stats import summarize
from .dataset import Case


def gguf_path(settings: Settings) -> Path | None:
    """The GGUF the configured model runs, or None for a model served elsewhere (Ollama,
    OpenAI-compatible), which has no bare llama.cpp counterpart in this process."""
    if settings.llm in ("embedded", "smollm2", "default"):
        return bundled_gguf_path()
    if settings.llm.endswith(".gguf"):
        return Path(settings.llm)
    return None


def llama_options(settings: Settings) -> dict:
    # As copilot/llm/embedded.py loads it.
    return {"n_ctx": settings.llm_context, "n_threads": settings.llm_threads or os.cpu_count() or 1,
            "n_batch": 512, "verbose": False}


def sampling_of(chat_model) -> dict:
    """The sampling parameters the pipeline's LangChain model passes to llama.cpp."""
    defaults = {"temperature": 0.0, "top_p": 0.95, "top_k": 40, "repeat_penalty": 1.1}
    return {key: getattr(chat_model, key, value) for key, value in defaults.items()}


def count_tokens(llm, text: str) -> int:
    return len(llm.tokenize(text.encode("utf-8"), add_bos=False, special=False)) if text else 0


def _decode_rate(tokens: int, ttft: float, end: float) -> float | None:
    # Tokens after the first, over the time after the first: prompt evaluation excluded.
    return (tokens - 1) / (end - ttft) if tokens > 1 and end > ttft else None


def bare_generate(llm, messages: list[tuple[str, str]], sampling: dict, max_tokens: int) -> dict:
    started = time.perf_counter()
    first, text = None, ""
    for chunk in llm.create_chat_completion(
            messages=[{"role": role, "content": content} for role, content in messages],
            stream=True, max_tokens=max_tokens, **sampling):
        piece = chunk["choices"][0]["delta"].get("content")
        if piece:
            if first is None:
                first = time.perf_counter() - started
            text += piece
    total = time.perf_counter() - started
    tokens = count_tokens(llm, text)
    ttft = first if first is not None else total
    return {"ttft_s": ttft, "total_s": total, "tokens": tokens,
            "tokens_per_s": _decode_rate(tokens, ttft, total)}


def pipeline_answer(copilot: Copilot, case: Case, llm) -> dict:
    started = time.perf_counter()
    answer = copilot.ask(case.question, user=demo_user(case.role))
    total = time.perf_counter() - started
    row = {"id": case.id, "status": answer.status, "question": answer.question, "total_s": total}
    timings = answer.timings
    if "generate" not in timings:  # declined before the model was asked
        return row
    tokens = count_tokens(llm, answer.draft)
    # timings count from the pipeline's start (after the question's PII scrub).
    stream_end = timings.get("generate_start", timings["retrieve"]) + timings["generate"]
    row.update({"ttft_s": timings["ttft"], "tokens": tokens,
                "tokens_per_s": _decode_rate(tokens, timings["ttft"], stream_end)})
    return row


def rendered_prompt(copilot: Copilot, question: str, role: str) -> list[tuple[str, str]]:
    """The messages the pipeline gave the model for this (already scrubbed) question."""
    pipeline = copilot.pipeline
    found = copilot.kb.search(question, k=pipeline.policy.top_k, filters=SearchFilter(role=role))
    hits = pipeline.prepare_hits([h for h in found if not h.quarantined])  # as the pipeline does
    messages, _ = pipeline.prompt.render(question, hits, pipeline.policy.prompt_budget,
                                         pipeline.backend.count_tokens)
    return messages


def bench_llm(copilot: Copilot, cases: list[Case], wanted: int) -> dict:
    """Pipeline vs bare figures over the first `wanted` cases the pipeline sends to the model."""
    import llama_cpp

    settings = copilot.settings
    path = gguf_path(settings)
    if path is None:
        return {"skipped": f"model {settings.llm!r} is not a local GGUF: no bare llama.cpp "
                           f"counterpart"}
    started = time.perf_counter()
    # This benchmark is about the model: its summary runs whatever COPILOT_SYNTHESIS says.
    copilot.pipeline.policy.synthesis = True  # also loads the model, timed
    pipeline_load_s = time.perf_counter() - started
    started = time.perf_counter()
    llm = llama_cpp.Llama(model_path=str(path), **llama_options(settings))
    bare_load_s = time.perf_counter() - started
    sampling = sampling_of(copilot.pipeline.backend.model)  # type: ignore[attr-defined]  # LangChain's
    max_tokens = settings.llm_max_tokens
    # One untimed pair first: first-call allocations, the scrubber's models, caches.
    warm = pipeline_answer(copilot, cases[0], llm)
    bare_generate(llm, rendered_prompt(copilot, warm["question"], cases[0].role), sampling,
                  max_tokens)
    rows: list[dict] = []
    declined: list[str] = []
    for case in cases[1:] or cases:
        if len(rows) >= wanted:
            break
        pipe = pipeline_answer(copilot, case, llm)
        if "ttft_s" not in pipe:
            declined.append(case.id)
            continue
        bare = bare_generate(llm, rendered_prompt(copilot, pipe["question"], case.role),
                             sampling, max_tokens)
        # What the bare model needs for the pipeline's token count (see the module note).
        if bare["tokens_per_s"] and pipe["tokens"] > 1:
            bare_equal = bare["ttft_s"] + (pipe["tokens"] - 1) / bare["tokens_per_s"]
        else:
            bare_equal = bare["total_s"]
        rows.append({"id": case.id, "role": case.role, "question": pipe["question"],
                     **{f"pipeline_{k}": v for k, v in pipe.items()
                        if k not in ("id", "question")},
                     **{f"bare_{k}": v for k, v in bare.items()},
                     "bare_same_tokens_s": bare_equal,
                     "overhead_pct": (pipe["total_s"] / bare_equal - 1) * 100})
    if not rows:
        return {"skipped": f"the pipeline declined every question tried ({', '.join(declined)})"}

    def column(name: str) -> list[float]:
        return [r[name] for r in rows if r.get(name) is not None]

    return {
        "model": copilot.pipeline.backend.name, "gguf": path.name,
        "llama_options": {k: v for k, v in llama_options(settings).items() if k != "verbose"},
        "sampling": sampling, "max_tokens": max_tokens,
        "load_s": {"pipeline": pipeline_load_s, "bare": bare_load_s},
        "questions": len(rows), "declined_skipped": declined,
        "pipeline": {"ttft_s": summarize(column("pipeline_ttft_s")),
                     "tokens_per_s": summarize(column("pipeline_tokens_per_s")),
                     "total_s": summarize(column("pipeline_total_s")),
                     "tokens": summarize(column("pipeline_tokens"))},
        "bare": {"ttft_s": summarize(column("bare_ttft_s")),
                 "tokens_per_s": summarize(column("bare_tokens_per_s")),
                 "total_s": summarize(column("bare_total_s")),
                 "tokens": summarize(column("bare_tokens"))},
        "overhead_pct": summarize(column("overhead_pct")),
        "items": rows,
    }


_LOAD_PROBE = """
import json, sys, time
import llama_cpp

def high_water_kb():
    # VmHWM is this process's own peak. ru_maxrss is not: after fork and exec it starts from
    # the parent's peak, which would hide the model behind the bench's own memory.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

before = high_water_kb()
started = time.perf_counter()
llm = llama_cpp.Llama(model_path=sys.argv[1], **json.loads(sys.argv[2]))
seconds = time.perf_counter() - started
print(json.dumps({"before_kb": before, "after_kb": high_water_kb(), "seconds": seconds}))
"""


def model_load_memory(settings: Settings) -> dict:
    """Peak RSS of a fresh process that imports llama_cpp and loads the model, and how much
    of it the load itself adds: a process of its own, so nothing else hides in the peak."""
    path = gguf_path(settings)
    if path is None:
        return {"skipped": f"model {settings.llm!r} is not a local GGUF"}
    done = subprocess.run([sys.executable, "-c", _LOAD_PROBE, str(path),
                           json.dumps(llama_options(settings))],
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        return {"skipped": f"the load probe failed: {done.stderr.strip()[-300:]}"}
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    return {"peak_rss_mb": probe["after_kb"] / 1024,
            "load_delta_mb": (probe["after_kb"] - probe["before_kb"]) / 1024,
            "load_s": probe["seconds"], "gguf_mb": path.stat().st_size / 1e6}


def thread_scan(settings: Settings, prompt: list[tuple[str, str]], max_tokens: int = 48) -> dict:
    """Bare decode rate with one thread and with every core, on one prompt: llama.cpp's
    worker threads spin while they wait, so on a busy machine more threads can be far slower
    (the setting COPILOT_LLM_THREADS chooses)."""
    import llama_cpp

    path = gguf_path(settings)
    if path is None:
        return {"skipped": f"model {settings.llm!r} is not a local GGUF"}
    figures = {}
    for threads in sorted({1, os.cpu_count() or 1}):
        llm = llama_cpp.Llama(model_path=str(path),
                              **{**llama_options(settings), "n_threads": threads})
        bare_generate(llm, prompt, {"temperature": 0.0}, 4)  # warm-up
        llm.reset()  # the timed call evaluates the whole prompt again
        figures[str(threads)] = bare_generate(llm, prompt, {"temperature": 0.0}, max_tokens)
        del llm
    return figures
