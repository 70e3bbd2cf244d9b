"""Retrieval and ingest benchmarks; figures go to a JSON file, never asserted in tests.

    python -m evals.bench_retrieval --out evals/results [--sizes 10000 100000] [--server]

* ingest throughput on the demo plant: chunks/s and the share of time spent embedding;
* query latency (query embedding + dense + BM25 + fusion) p50/p95 at each index size,
  embedded Chroma and, with --server, a `chroma run` server on loopback.

Large indexes are synthetic: the demo plant's real chunks and their real embeddings are
replicated with fresh ids, a small random perturbation of each vector (so HNSW sees distinct
points) and a unique token per copy (so BM25 sees distinct documents). Embedding 100k chunks
for real would take most of an hour on 2 cores and would not change search cost.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from copilot import Copilot, Settings, demo_plant_path
from knowledge import Document
from knowledge.chunking import Chunk

from .dataset import load_cases

QUESTIONS = Path(__file__).parent / "datasets" / "demo_qa.jsonl"


def bench_ingest(home: Path) -> dict:
    copilot = Copilot.from_settings(Settings(home=home))
    embedder = copilot.kb.embedder
    spent = {"embed": 0.0}
    original = embedder.embed

    def timed(texts):
        started = time.perf_counter()
        try:
            return original(texts)
        finally:
            spent["embed"] += time.perf_counter() - started

    embedder.embed = timed  # type: ignore[method-assign]  # measure, do not change behaviour
    started = time.perf_counter()
    report = copilot.ingest([demo_plant_path()])
    total = time.perf_counter() - started
    embedder.embed = original  # type: ignore[method-assign]
    chunks = sum(f.chunks for f in report.files)
    return {"files": len(report.files), "chunks": chunks, "seconds": total,
            "chunks_per_second": chunks / total, "embedding_share": spent["embed"] / total}


def grow_index(copilot: Copilot, target: int, seed: int = 7) -> None:
    """Replicate the real demo chunks with fresh ids until the index holds `target` chunks."""
    kb = copilot.kb
    rows = [r for r in kb.catalog.all_chunks() if "#copy" not in r["source"]]  # the real ones
    base_vectors = kb.embedder.embed([f"{r['context']}\n{r['text']}" for r in rows])
    every = kb.catalog.all_chunks()
    have = len(every)
    rng = np.random.default_rng(seed)
    # Past every copy number used by an earlier call. Not `have // len(rows)`: an earlier
    # call's last copy may be partial, and reusing its number overwrote its ids (a 100,000
    # target after a 10,000 one ended at 99,825 chunks).
    copy = max((int(r["source"].rsplit("#copy", 1)[1]) for r in every
                if "#copy" in r["source"]), default=1)
    pending: list = []
    while have < target:
        copy += 1
        batch = rows[: min(len(rows), target - have)]
        by_source: dict[str, list] = {}
        for i, row in enumerate(batch):
            by_source.setdefault(row["source"], []).append((i, row))
        for source, items in by_source.items():
            doc_row = items[0][1]
            doc_id = f"{doc_row['doc_id']}-X{copy}"
            text = "\n".join(f"{r['text']} zz{copy}q" for _, r in items)
            doc = Document(doc_id=doc_id, title=doc_row["title"], doc_type=doc_row["doc_type"],
                           revision=doc_row["revision"], status=doc_row["status"], text=text,
                           source=f"{source}#copy{copy}", content_hash=f"synthetic{copy}",
                           equipment=tuple(json.loads(doc_row["equipment"])),
                           access=tuple(json.loads(doc_row["access"])))
            chunks, offset = [], 0
            for n, (_, r) in enumerate(items):
                piece = f"{r['text']} zz{copy}q"
                chunks.append(Chunk(chunk_id=f"{doc.key}#{n}-syn", doc_key=doc.key,
                                    section=r["section"], text=piece, start=offset,
                                    end=offset + len(piece), context=r["context"], ordinal=n))
                offset += len(piece) + 1
            vectors: np.ndarray = base_vectors[[i for i, _ in items]]
            vectors = vectors + rng.normal(0, 0.02, vectors.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            pending.append(([c.chunk_id for c in chunks], vectors,
                            [{"doc_id": doc_id, "revision": doc.revision,
                              "doc_type": doc.doc_type, "status": doc.status,
                              **{f"access_{role}": role in doc.access for role in
                                 ("operator", "supervisor", "qa", "trainer", "admin")}}
                             for _ in chunks]))
            kb.catalog.replace(doc, chunks)
        # Vectors go in large batches: many small upserts dominate the set-up time.
        ids = [i for p in pending for i in p[0]]
        kb.vectors.upsert(ids, np.vstack([p[1] for p in pending]),
                          [m for p in pending for m in p[2]])
        pending.clear()
        have += len(batch)
    kb.refresh_lexical(force=True)


def bench_queries(copilot: Copilot, questions: list[str], role: str = "operator") -> dict:
    from guardrails import demo_user

    user = demo_user(role)
    for q in questions[:5]:
        copilot.search(q, k=5, user=user)  # warm-up: caches, BM25 load
    timings = []
    for q in questions:
        started = time.perf_counter()
        copilot.search(q, k=5, user=user)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return {"queries": len(timings), "p50_ms": statistics.median(timings),
            "p95_ms": timings[int(0.95 * (len(timings) - 1))]}


def _start_server(data: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    chroma = Path(sys.executable).with_name("chroma")
    server = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT,
                              env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2)
            return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise RuntimeError("chroma server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="evals/results")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--server", action="store_true", help="also measure a chroma server")
    parser.add_argument("--skip-embedded", action="store_true", help="only the server figures")
    args = parser.parse_args()
    questions = [c.question for c in load_cases(QUESTIONS)]
    results: dict = {"machine": {"cpus": os.cpu_count()}}
    with tempfile.TemporaryDirectory() as tmp:
        results["ingest"] = bench_ingest(Path(tmp) / "ingest")
        print(json.dumps(results["ingest"]), flush=True)
        targets: list[tuple[str, str | None]] = [] if args.skip_embedded else [("embedded", None)]
        server = None
        if args.server:
            server, server_url = _start_server(Path(tmp) / "server")
            targets.append(("server", server_url))
        try:
            for name, url in targets:
                home = Path(tmp) / f"home-{name}"
                copilot = Copilot.from_settings(Settings(home=home, chroma_url=url))
                copilot.ingest([demo_plant_path()])
                for size in sorted(args.sizes):
                    grow_index(copilot, size)
                    figures = bench_queries(copilot, questions)
                    figures["chunks"] = copilot.kb.vectors.count()
                    results[f"query_{name}_{size}"] = figures
                    print(name, size, json.dumps(figures), flush=True)
        finally:
            if server:
                server.terminate()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = "bench_retrieval_server.json" if args.skip_embedded else "bench_retrieval.json"
    (out / name).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
