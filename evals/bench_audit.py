"""Audit-trail micro-benchmark: append latency (one durable record each) and verify time.

    python -m evals.bench_audit --out DIR [--appends 2000] [--records 100000] [--workdir DIR]

Writes DIR/bench_audit.json. Also measures the raw fsync latency of the disk under the trail,
because a durable append cannot be faster than the fsync it makes: the SQLite WAL commit
(synchronous=FULL), which also carries the Ed25519-signed head; and the cost of signing one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from guardrails import AuditSigner, AuditTrail
from guardrails.audit_head import sign_head

# One percentile definition for every published figure (linear interpolation, as numpy).
from .bench_stats import percentile

TARGETS = {"append_p99_ms": 5.0, "verify_100k_s": 2.0}


def ask_details(n: int) -> dict:
    """A realistic `ask` record: scrubbed question, cited chunks, model, answer, verdicts."""
    return {
        "question": f"Autoclave AC-02 stopped with alarm E-22 during cycle {n}, what now?",
        "sources": [{"chunk": f"SOP-STER-014#{n % 7}.{i}", "doc": "SOP-STER-014", "version": "4.0"}
                    for i in range(3)],
        "model": "smollm2-135m-instruct-q4", "prompt_version": "answer-v3",
        "answer": "Stop the cycle, keep the door closed and call QA [1]. " * 4,
        "grounding": {"supported": 3, "dropped": 0, "fallback": False},
        "guards": {"pii": "scrubbed:1", "injection": "clean", "policy": "allowed"},
    }


def fsync_latency_ms(folder: Path, n: int = 300) -> dict:
    """The disk's floor under one append: a WAL-style fsync."""
    wal = []
    fd = os.open(folder / "wal.probe", os.O_WRONLY | os.O_CREAT)
    try:
        for _ in range(n):  # grow a file and fsync it, as a WAL commit does
            os.write(fd, b"x" * 4096)
            started = time.perf_counter()
            os.fsync(fd)
            wal.append((time.perf_counter() - started) * 1e3)
    finally:
        os.close(fd)
    wal.sort()
    return {"wal_fsync_p50": percentile(wal, 0.5), "wal_fsync_p99": percentile(wal, 0.99)}


def sign_latency_us(folder: Path, n: int = 2000) -> dict:
    """What signing the head adds to each append (it is inside the append's transaction)."""
    signer = AuditSigner.create_file(folder / "sign-key" / "audit.key")
    samples = []
    for i in range(n):
        started = time.perf_counter()
        sign_head(signer, i + 1, "0" * 64)
        samples.append((time.perf_counter() - started) * 1e6)
    samples.sort()
    return {"p50": percentile(samples, 0.5), "p99": percentile(samples, 0.99)}


def _trail(folder: Path, name: str) -> AuditTrail:
    # The key in a folder of its own: AuditTrail refuses one beside the trail, and the
    # default place (~/.config) should not collect a key per benchmark run.
    return AuditTrail(folder / f"{name}-trail" / f"{name}.db",
                      key_file=folder / f"{name}-key" / "audit.key")


def bench_append(folder: Path, n: int) -> dict:
    trail = _trail(folder, "append")
    for i in range(20):  # warm-up: page cache, WAL file, the key and the first signed head
        trail.append("bench", "operator", "ask", ask_details(i))
    samples = []
    for i in range(n):
        details = ask_details(i)
        started = time.perf_counter()
        trail.append("bench", "operator", "ask", details)
        samples.append((time.perf_counter() - started) * 1e3)
    trail.close()
    samples.sort()
    return {"n": n, "p50_ms": percentile(samples, 0.5), "p90_ms": percentile(samples, 0.9),
            "p99_ms": percentile(samples, 0.99), "max_ms": samples[-1],
            "mean_ms": statistics.fmean(samples)}


def bench_verify(folder: Path, n: int, batch: int = 5000) -> dict:
    trail = _trail(folder, "verify")
    started = time.perf_counter()
    for first in range(0, n, batch):  # one transaction per batch: same chain, fewer fsyncs
        trail.append_many([("bench", "operator", "ask", ask_details(i))
                           for i in range(first, min(n, first + batch))])
    build_s = time.perf_counter() - started
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        result = trail.verify()
        runs.append(time.perf_counter() - started)
        if not result.ok or result.records != n:
            raise SystemExit(f"verify failed on an untouched trail: {result}")
    trail.close()
    return {"records": n, "build_s": build_s, "verify_s_runs": runs,
            "verify_s_median": statistics.median(runs),
            "db_mb": trail.path.stat().st_size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="evals/results")
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--workdir", default=None, help="where the trails are built (a temp dir)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        fsync = fsync_latency_ms(folder)
        sign = sign_latency_us(folder)
        append = bench_append(folder, args.appends)
        verify = bench_verify(folder, args.records)
    figures = {
        "append": append,
        "verify": verify,
        "disk_floor_ms": fsync,
        "sign_head_us": sign,
        "targets": TARGETS,
        "met": {"append_p99": append["p99_ms"] <= TARGETS["append_p99_ms"],
                "verify_100k": verify["verify_s_median"] * 100_000 / verify["records"]
                <= TARGETS["verify_100k_s"]},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "sqlite": sqlite3.sqlite_version, "platform": platform.platform()},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_audit.json").write_text(json.dumps(figures, indent=2))
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
