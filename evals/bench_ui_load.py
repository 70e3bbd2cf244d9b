"""Load on the UI: N concurrent logged-in sessions (each its own `gradio_client` log-in) ask
demo questions through the app's streaming `/ask` endpoint. Per question it times the
evidence (question sent -> the answer card, or the decline, arrives: the first update that is
more than the "Searching…" placeholder) and the whole answer (the stream ends), and counts
errors. Writes `ui_load.json` and `ui_load.md` with the load average of the machine.

    python -m evals.bench_ui_load --serve [--sessions 10] [--questions 3] [--out DIR]
    python -m evals.bench_ui_load --url http://127.0.0.1:7860 --user NAME --password PW ...

`--serve` starts `copilot serve --login` itself on a temporary home with the demo plant and
one operator account per session, and asks one untimed question first (warm). With `--url`,
every session logs in as `--user` (or none against `--demo-mode`). Percentiles are
`evals.bench_stats.percentile` (linear interpolation, numpy's default), as in `copilot bench`.
The time is the client's: it includes the queue, the handler and the transport, not the
browser's rendering.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from .bench_stats import summarize
from .dataset import load_cases

DEFAULT_DATASET = Path(__file__).parent / "datasets" / "demo_qa_ci.jsonl"
SHOWN = "verify against the controlled copy"  # the decision-support badge: a card or a decline
POLL_SECONDS = 0.01  # how often a session looks for the next streamed update
QUESTION_TIMEOUT = 600


def _ask(client, question: str) -> tuple[float, float]:
    """(seconds to the card or decline, seconds to the end) for one question; raises on an
    error message, a failed job or no card at all."""
    started = time.perf_counter()
    job = client.submit(question, [], api_name="/ask")
    evidence = None
    seen = 0
    while True:
        outputs = job.outputs()
        for history, *_ in outputs[seen:]:
            content = str(history[-1]["content"]) if history else ""
            if "⚠️" in content:
                raise RuntimeError(f"error shown: {content[:200]}")
            if evidence is None and SHOWN in content:
                evidence = time.perf_counter() - started
        seen = len(outputs)
        if job.done():
            break
        if time.perf_counter() - started > QUESTION_TIMEOUT:
            job.cancel()
            raise TimeoutError(f"no end after {QUESTION_TIMEOUT} s")
        time.sleep(POLL_SECONDS)
    job.result()  # raises when the job failed
    total = time.perf_counter() - started
    if evidence is None:  # the last update may have arrived with the end
        history = job.outputs()[-1][0] if job.outputs() else []
        if not history or SHOWN not in str(history[-1]["content"]):
            raise RuntimeError("no answer card or decline was shown")
        evidence = total
    return evidence, total


def run_load(url: str, logins: list[tuple[str, str] | None], questions_per_session: int,
             dataset: Path = DEFAULT_DATASET) -> dict:
    from gradio_client import Client

    questions = [c.question for c in load_cases(dataset)]
    sessions = len(logins)
    evidence: list[float] = []
    answers: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(sessions)

    def session(index: int) -> None:
        try:
            client = Client(url.rstrip("/") + "/", auth=logins[index], verbose=False)
        except Exception as exc:  # noqa: BLE001 - a failed session is a reported error
            with lock:
                errors.append(f"session {index}: log-in failed: {exc}")
            start_gate.abort()
            return
        try:
            start_gate.wait(timeout=300)  # every session logged in: the questions start together
        except threading.BrokenBarrierError:
            pass
        for n in range(questions_per_session):
            question = questions[(index * questions_per_session + n) % len(questions)]
            try:
                to_card, to_end = _ask(client, question)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(f"session {index} question {n}: {exc!r}"[:300])
                continue
            with lock:
                evidence.append(to_card)
                answers.append(to_end)

    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    load_before = os.getloadavg()
    wall = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - wall
    load_after = os.getloadavg()

    def rounded(stats: dict) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in stats.items()}

    return {
        "sessions": sessions, "questions_per_session": questions_per_session,
        "asked": sessions * questions_per_session, "answered": len(answers),
        "errors": errors, "error_count": len(errors),
        "evidence_seconds": rounded(summarize(evidence)),
        "answer_seconds": rounded(summarize(answers)),
        "wall_seconds": round(wall, 1),
        "throughput_answers_per_min": round(60 * len(answers) / wall, 2) if wall else None,
        "machine": {"cores": os.cpu_count(),
                    "load_average_before_1_5_15min": [round(x, 2) for x in load_before],
                    "load_average_after_1_5_15min": [round(x, 2) for x in load_after]},
        "percentile": "linear interpolation between closest ranks (evals.bench_stats)",
        "dataset": dataset.name,
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served_demo(sessions: int, log=print):
    """`copilot serve --login` on a temporary home with the demo plant and one operator
    account per session; yields (url, logins)."""
    from copilot import Copilot, Settings, demo_plant_path
    from guardrails import UserStore

    with tempfile.TemporaryDirectory(prefix="copilot-ui-load-") as tmp:
        home = Path(tmp) / "home"
        log("ingesting the demo plant into a temporary home")
        report = Copilot.from_settings(Settings(home=home)).ingest([demo_plant_path()])
        if report.failed:
            raise RuntimeError(f"demo plant ingest failed: {report.failed}")
        password = secrets.token_urlsafe(16)
        store = UserStore(home / "users.sqlite")
        logins = []
        for i in range(sessions):
            store.add(f"load{i:02d}", "operator", password)
            logins.append((f"load{i:02d}", password))
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
        env.update(COPILOT_HOME=str(home), COPILOT_UI_PORT=str(port))
        command = [str(Path(sys.executable).with_name("copilot")), "serve", "--login"]
        with (Path(tmp) / "serve.log").open("w") as out:
            server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for(url, server, Path(tmp) / "serve.log")
            yield url, logins
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_for(url: str, server: subprocess.Popen, log: Path, timeout: float = 300) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url + "/", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def warm_up(url: str, login: tuple[str, str] | None, question: str) -> float:
    """One untimed question, so the figures are for a warm server (models loaded)."""
    from gradio_client import Client

    started = time.perf_counter()
    _ask(Client(url + "/", auth=login, verbose=False), question)
    return time.perf_counter() - started


def markdown(result: dict) -> str:
    ev, an, machine = result["evidence_seconds"], result["answer_seconds"], result["machine"]

    def cell(stats: dict, key: str) -> str:
        return f"{stats[key]:.2f}" if key in stats else "n/a"

    return "\n".join([
        "# UI under load (`python -m evals.bench_ui_load`)", "",
        f"{result['sessions']} logged-in sessions × {result['questions_per_session']} "
        f"questions ({result['dataset']}), started together; {machine['cores']} cores, load "
        f"average (1/5/15 min) before {machine['load_average_before_1_5_15min']}, after "
        f"{machine['load_average_after_1_5_15min']}. Percentiles: {result['percentile']}.", "",
        "| asked | answered | errors | evidence p50 (s) | evidence p95 (s) | answer p50 (s) | "
        "answer p95 (s) | wall (s) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        f"| {result['asked']} | {result['answered']} | {result['error_count']} | "
        f"{cell(ev, 'p50')} | {cell(ev, 'p95')} | {cell(an, 'p50')} | {cell(an, 'p95')} | "
        f"{result['wall_seconds']} |", "",
        "Evidence: question sent until the answer card (or the decline) arrives at the client; "
        "answer: until the stream ends (a verified summary, when synthesis is on).", ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running `copilot serve`")
    where.add_argument("--serve", action="store_true",
                       help="start `copilot serve --login` on a temporary demo home")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--questions", type=int, default=3)
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--out", type=Path, default=Path("evals/reports/bench"))
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.questions < 1:
        parser.error("--sessions and --questions must be at least 1")
    first_question = load_cases(args.dataset)[-1].question
    if args.serve:
        with served_demo(args.sessions, log=lambda m: print(m, file=sys.stderr)) as (url, logins):
            print(f"warm-up: {warm_up(url, logins[0], first_question):.1f} s", file=sys.stderr)
            result = run_load(url, logins, args.questions, args.dataset)
    else:
        login = (args.user, args.password) if args.user else None
        print(f"warm-up: {warm_up(args.url, login, first_question):.1f} s", file=sys.stderr)
        result = run_load(args.url, [login] * args.sessions, args.questions, args.dataset)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ui_load.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "ui_load.md").write_text(markdown(result))
    print(json.dumps(result, indent=2))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
