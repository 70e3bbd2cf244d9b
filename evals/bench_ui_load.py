"""Load on the UI: N concurrent sessions (each its own `gradio_client` log-in) ask demo
questions through the app's `/ask` endpoint. Reports errors and answer latency p50/p95 under
that load, to `ui_load.json` and `ui_load.md`.

    python -m evals.bench_ui_load --url http://127.0.0.1:7860 --user olga --password ... \
        [--sessions 10] [--questions 2] [--out evals/reports/bench]

Against a server started with `copilot serve --login` (or `--demo-mode`, then omit --user).
One in-process model answers one question at a time, so latency under load is mostly queueing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
from pathlib import Path

from .dataset import load_cases

DEFAULT_DATASET = Path(__file__).parent / "datasets" / "demo_qa_ci.jsonl"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_load(url: str, user: str | None, password: str | None, sessions: int,
             questions_per_session: int, dataset: Path = DEFAULT_DATASET) -> dict:
    from gradio_client import Client

    questions = [c.question for c in load_cases(dataset)]
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(sessions)

    def session(index: int) -> None:
        try:
            client = Client(url.rstrip("/") + "/", auth=(user, password) if user else None,
                            verbose=False)
        except Exception as exc:  # noqa: BLE001 - a failed session is a reported error
            with lock:
                errors.append(f"session {index}: log-in failed: {exc}")
            start_gate.abort()
            return
        try:
            start_gate.wait(timeout=300)
        except threading.BrokenBarrierError:
            pass
        for n in range(questions_per_session):
            question = questions[(index * questions_per_session + n) % len(questions)]
            started = time.perf_counter()
            try:
                history, _ = client.predict(question, [], api_name="/ask")
                shown = str(history[-1]["content"])
                if "⚠️" in shown or "verify against the controlled copy" not in shown:
                    raise RuntimeError(f"unexpected answer: {shown[:200]}")
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"session {index} question {n}: {exc}")
                continue
            with lock:
                latencies.append(time.perf_counter() - started)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    return {"sessions": sessions, "questions_per_session": questions_per_session,
            "answered": len(latencies), "errors": errors, "wall_seconds": round(wall, 1),
            "answer_p50": round(_percentile(latencies, 0.5), 2),
            "answer_p95": round(_percentile(latencies, 0.95), 2),
            "answer_mean": round(statistics.fmean(latencies), 2) if latencies else None,
            "throughput_answers_per_min": round(60 * len(latencies) / wall, 2) if wall else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--questions", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("evals/reports/bench"))
    args = parser.parse_args(argv)
    result = run_load(args.url, args.user, args.password, args.sessions, args.questions)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ui_load.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "ui_load.md").write_text(
        "| sessions | answered | errors | answer p50 (s) | answer p95 (s) | wall (s) |\n"
        "|---|---|---|---|---|---|\n"
        f"| {result['sessions']} | {result['answered']} | {len(result['errors'])} | "
        f"{result['answer_p50']} | {result['answer_p95']} | {result['wall_seconds']} |\n")
    print(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
