"""Audit append on both stores in one run: SQLite file against PostgreSQL, 1 and 4 writers.

    python -m evals.bench_audit_stores --out evals/reports/bench [--appends 500]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--migrate-records 100000]

Each writer is its own process with its own AuditTrail, as separate servers are; every append
is one durable transaction with its signed head. Figures per store and writer count: append
latency p50/p90/p99 (per append, as a caller waits for it) and appends/s (all writers'
appends over the wall time from the common start). PostgreSQL runs in a throw-away database
on the given server; it is dropped afterwards. Also times `copilot db migrate-from-home` for
a home with --migrate-records audit records. Writes bench_audit_stores.json and .md.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .bench_audit import ask_details
from .bench_stats import percentile

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _location(store: str, target: str):
    from storage import PostgresDatabase

    return PostgresDatabase(target) if store == "postgresql" else Path(target)


def _writer(store: str, target: str, key_file: str, n: int, start, queue) -> None:
    from guardrails import AuditTrail

    trail = AuditTrail(_location(store, target), key_file=key_file)
    trail.append("bench", "operator", "ask", ask_details(0))  # connection, key, schema
    start.wait()
    samples = []
    for i in range(n):
        details = ask_details(i)
        began = time.perf_counter()
        trail.append("bench", "operator", "ask", details)
        samples.append((time.perf_counter() - began) * 1e3)
    trail.close()
    queue.put((samples, time.perf_counter()))


def run(store: str, target: str, key_file: Path, writers: int, n: int) -> dict:
    context = mp.get_context("spawn")
    start, queue = context.Event(), context.Queue()
    procs = [context.Process(target=_writer, args=(store, target, str(key_file), n, start, queue))
             for _ in range(writers)]
    for p in procs:
        p.start()
    time.sleep(3.0)  # every writer opened its trail (spawned interpreters import first)
    began = time.perf_counter()
    start.set()
    results = [queue.get(timeout=1800) for _ in procs]
    for p in procs:
        p.join()
    wall = max(end for _, end in results) - began
    samples = sorted(s for batch, _ in results for s in batch)
    return {"store": store, "writers": writers, "appends": len(samples),
            "p50_ms": percentile(samples, 0.5), "p90_ms": percentile(samples, 0.9),
            "p99_ms": percentile(samples, 0.99), "mean_ms": statistics.fmean(samples),
            "appends_per_s": len(samples) / wall, "wall_s": wall}


def _verify(store: str, target: str, key_file: Path, expected: int) -> None:
    from guardrails import AuditTrail

    result = AuditTrail(_location(store, target), key_file=key_file).verify()
    if not result.ok or result.records != expected:
        raise SystemExit(f"{store}: the trail does not verify after the run: {result}")


def _database(admin_url: str) -> tuple[str, str]:
    import psycopg

    name = f"copilot_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, urlunsplit(urlsplit(admin_url)._replace(path="/" + name))


def _drop(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_migrate(folder: Path, admin_url: str, records: int) -> dict:
    """migrate-from-home for a home holding `records` audit records (the largest table)."""
    from copilot.cli.db import migrate_from_home
    from guardrails import AuditTrail
    from storage import PostgresDatabase

    home, key_file = folder / "migrate-home", folder / "migrate-key" / "audit.key"
    trail = AuditTrail(home / "audit" / "audit.sqlite", key_file=key_file)
    for first in range(0, records, 5000):
        trail.append_many([("bench", "operator", "ask", ask_details(i))
                           for i in range(first, min(records, first + 5000))])
    trail.close()
    name, url = _database(admin_url)
    try:
        began = time.perf_counter()
        copied = migrate_from_home(home, PostgresDatabase(url), key_file)
        seconds = time.perf_counter() - began
    finally:
        _drop(admin_url, name)
    return {"audit_records": copied.get("audit", 0), "seconds": seconds,
            "includes": "schema upgrade, copy, row-by-row comparison, both chains verified"}


def markdown(figures: dict) -> str:
    lines = ["# Audit append: SQLite file against PostgreSQL", "",
             f"{figures['appends_per_writer']} appends per writer, each one durable transaction "
             f"with its signed head; writers are separate processes. Machine: "
             f"{figures['machine']['cpus']} CPUs ({figures['machine']['platform']}), shared with "
             f"other work while measured: 1-minute load average "
             f"{figures['load_average']['before'][0]:.1f} before, "
             f"{figures['load_average']['after'][0]:.1f} after.", "",
             "| store | writers | appends | p50 ms | p90 ms | p99 ms | appends/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in figures["runs"]:
        lines.append(f"| {r['store']} | {r['writers']} | {r['appends']} | {r['p50_ms']:.2f} | "
                     f"{r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['appends_per_s']:.0f} |")
    migrate = figures.get("migrate_from_home")
    if migrate:
        lines += ["", f"`copilot db migrate-from-home`: {migrate['audit_records']} audit records "
                      f"in {migrate['seconds']:.1f} s ({migrate['includes']})."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="evals/results")
    parser.add_argument("--appends", type=int, default=500, help="per writer")
    parser.add_argument("--writers", default="1,4")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL,
                        help="a PostgreSQL server where a throw-away database may be created")
    parser.add_argument("--migrate-records", type=int, default=100_000, help="0: skip")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    os.environ.setdefault("XDG_CONFIG_HOME", tempfile.mkdtemp(prefix="bench-config-"))
    counts = [int(w) for w in args.writers.split(",")]
    load_before = os.getloadavg()
    runs = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        folder = Path(tmp)
        from guardrails.audit import SCHEMA
        from storage import PostgresDatabase, upgrade

        for writers in counts:
            for store in ("sqlite", "postgresql"):
                key_file = folder / f"key-{store}-{writers}" / "audit.key"
                if store == "sqlite":
                    target = str(folder / f"trail-{writers}" / "audit.sqlite")
                    name = None
                else:
                    name, target = _database(args.admin_url)
                    upgrade(PostgresDatabase(target), SCHEMA)
                try:
                    result = run(store, target, key_file, writers, args.appends)
                    _verify(store, target, key_file, writers * (args.appends + 1))
                finally:
                    if name:
                        _drop(args.admin_url, name)
                print(json.dumps(result), flush=True)
                runs.append(result)
        migrate = (bench_migrate(folder, args.admin_url, args.migrate_records)
                   if args.migrate_records else None)
    import sqlite3

    import psycopg

    figures = {"appends_per_writer": args.appends, "runs": runs, "migrate_from_home": migrate,
               "load_average": {"before": load_before, "after": os.getloadavg()},
               "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                           "sqlite": sqlite3.sqlite_version, "psycopg": psycopg.__version__,
                           "platform": platform.platform()}}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_audit_stores.json").write_text(json.dumps(figures, indent=2))
    (out / "bench_audit_stores.md").write_text(markdown(figures))
    print(markdown(figures))


if __name__ == "__main__":
    main()
