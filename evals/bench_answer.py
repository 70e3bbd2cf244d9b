"""Answer latency of the pipeline against a bare llama-cpp-python call on the same prompt.

    python -m evals.bench_answer --out DIR [--n 8]

Both sides use the same GGUF, context, thread count, temperature and max tokens; the bare call
gets exactly the prompt the pipeline rendered. Figures (TTFT, total, tokens/s, overhead) go to
DIR/bench_answer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from copilot import Copilot, Settings, demo_plant_path
from copilot.llm import bundled_gguf_path
from guardrails import demo_user

from .dataset import load_cases

QUESTIONS = Path(__file__).parent / "datasets" / "demo_qa.jsonl"


def bare_llama(messages: list[tuple[str, str]], settings: Settings, llm) -> dict:
    started = time.perf_counter()
    first, pieces = None, 0
    for chunk in llm.create_chat_completion(
            messages=[{"role": r, "content": c} for r, c in messages], stream=True,
            temperature=0.0, max_tokens=settings.llm_max_tokens):
        if chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter() - started
            pieces += 1
    total = time.perf_counter() - started
    return {"ttft": first or total, "total": total, "tokens_per_s": pieces / total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="evals/results")
    parser.add_argument("--n", type=int, default=8)
    args = parser.parse_args()
    import llama_cpp

    cases = [c for c in load_cases(QUESTIONS) if c.answerable and not c.expect_restricted]
    step = max(1, len(cases) // args.n)
    cases = cases[::step][: args.n]
    rows = []
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home))
        copilot = Copilot.from_settings(settings)
        copilot.ingest([demo_plant_path()])
        copilot.ask(cases[0].question)  # warm-up: model, scrubber, caches
        llm = llama_cpp.Llama(model_path=str(bundled_gguf_path()), n_ctx=settings.llm_context,
                              n_threads=settings.llm_threads or os.cpu_count(), n_batch=512,
                              verbose=False)
        for case in cases:
            started = time.perf_counter()
            answer = copilot.ask(case.question, user=demo_user(case.role))
            pipeline_total = time.perf_counter() - started
            hits = copilot.kb.search(answer.question, k=settings.top_k)
            messages, _ = copilot.pipeline.prompt.render(answer.question, hits,
                                                         settings.prompt_budget,
                                                         copilot.pipeline.backend.count_tokens)
            bare = bare_llama(messages, settings, llm)
            rows.append({"id": case.id, "status": answer.status,
                         "pipeline_ttft": answer.timings.get("ttft"),
                         "pipeline_total": pipeline_total, **{f"bare_{k}": v for k, v in bare.items()}})
    summary = {
        "n": len(rows),
        "pipeline_ttft_p50": statistics.median(r["pipeline_ttft"] for r in rows),
        "pipeline_total_p50": statistics.median(r["pipeline_total"] for r in rows),
        "bare_ttft_p50": statistics.median(r["bare_ttft"] for r in rows),
        "bare_total_p50": statistics.median(r["bare_total"] for r in rows),
        "bare_tokens_per_s_p50": statistics.median(r["bare_tokens_per_s"] for r in rows),
    }
    summary["overhead_total_p50"] = summary["pipeline_total_p50"] / summary["bare_total_p50"] - 1
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_answer.json").write_text(json.dumps({"summary": summary, "items": rows}, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
