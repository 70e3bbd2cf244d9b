"""The hash-chained audit trail: append, verify, tamper detection, crashes and concurrency.

The signed head's own attack cases (the security review's F3) are in test_audit_signing.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from guardrails import AUDIT_ACTIONS, AuditError, AuditRecord, AuditSink, AuditTrail, GuardrailError

REPO = Path(__file__).resolve().parents[1]
GENESIS = "0" * 64


def spec_hash(fields: dict) -> str:
    """The hash as the design states it, computed without the module's fast path."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def tamper(db: Path, *statements: tuple[str, tuple]) -> None:
    """Edit the database as an intruder would: drop the append-only triggers, then write."""
    conn = sqlite3.connect(db, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for sql, params in statements:
        conn.execute(sql, params)
    conn.close()


def raw_rows(db: Path) -> dict[int, tuple]:
    conn = sqlite3.connect(db)
    rows = conn.execute("SELECT seq, ts, user, role, action, details, prev_hash, hash FROM audit"
                        ).fetchall()
    conn.close()
    return {row[0]: row for row in rows}


@pytest.fixture(autouse=True)
def config_home(tmp_path_factory, monkeypatch) -> Path:
    """Default key files go to a temporary config folder (writer subprocesses inherit it),
    apart from the trails: a key inside a trail's folder is refused."""
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


def stored_head(db: Path) -> dict | None:
    conn = sqlite3.connect(db)
    row = conn.execute("SELECT head FROM audit_head").fetchone()
    conn.close()
    return json.loads(row[0]) if row else None


def put_head(db: Path, head: dict | str) -> None:
    text = head if isinstance(head, str) else json.dumps(head)
    tamper(db, ("UPDATE audit_head SET head = ?", (text,)))


@pytest.fixture()
def trail(tmp_path) -> AuditTrail:
    with AuditTrail(tmp_path / "audit.db") as t:
        yield t


def fill(trail: AuditTrail, n: int) -> list[AuditRecord]:
    return [trail.append(f"user{i % 3}", "operator", AUDIT_ACTIONS[i % len(AUDIT_ACTIONS)],
                         {"i": i, "question": f"AC-02 alarm E-{i}", "chunks": ["SOP-1#2@4.0"]})
            for i in range(n)]


# -- happy path ---------------------------------------------------------------------------------

@pytest.mark.light
def test_append_builds_a_chain_that_verifies(trail):
    records = fill(trail, 4)
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert records[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(records, records[1:]))
    for r in records:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", r.ts)
        assert datetime.fromisoformat(r.ts).utcoffset() == timedelta(0)
    result = trail.verify()
    assert (result.ok, result.records, result.first_bad_seq) == (True, 4, None)
    assert trail.head() == (4, records[-1].hash)
    head = stored_head(trail.path)
    assert (head["seq"], head["hash"]) == (4, records[-1].hash)
    assert result.head.to_json() == json.dumps(head, sort_keys=True, separators=(",", ":"))


@pytest.mark.light
def test_hash_is_sha256_of_the_canonical_json_of_the_other_fields(trail):
    details = {"q": "Température > 121 °C?\n\"x\"", "ids": ("a", 2),
               "nested": {"b": 1, "a": [None, True, 1.5]}}
    record = trail.append("Zoë", "qa", "ask", details)
    assert record.details["ids"] == ["a", 2]  # stored as JSON gives it back
    assert record.hash == spec_hash(record.to_dict())
    stored = raw_rows(trail.path)[1]
    assert stored[5] == json.dumps(record.details, sort_keys=True, separators=(",", ":"),
                                   ensure_ascii=False)


@pytest.mark.light
def test_chain_continues_across_reopening(tmp_path):
    first = AuditTrail(tmp_path / "a.db")
    last = fill(first, 3)[-1]
    first.close()
    again = AuditTrail(tmp_path / "a.db")
    record = again.append("bob", "admin", "config_change", {"model": "ollama:llama3"})
    assert (record.seq, record.prev_hash) == (4, last.hash)
    assert again.verify().ok


@pytest.mark.light
def test_append_many_is_one_chained_batch(trail):
    fill(trail, 2)
    batch = trail.append_many([("ann", "trainer", "quiz_submit", {"score": s}) for s in range(3)])
    assert [r.seq for r in batch] == [3, 4, 5]
    assert trail.verify().records == 5
    with pytest.raises(AuditError):
        trail.append_many([("ann", "trainer", "ask", {}), ("ann", "trainer", "nope", {})])
    assert trail.head()[0] == 5  # a bad entry stores none of the batch


@pytest.mark.light
def test_empty_trail_verifies(trail):
    result = trail.verify()
    assert (result.ok, result.records) == (True, 0)


# -- refusals -----------------------------------------------------------------------------------

@pytest.mark.light
def test_bad_records_are_refused_with_a_reason(trail):
    with pytest.raises(AuditError, match="unknown audit action 'approve_batch'"):
        trail.append("u", "operator", "approve_batch", {})
    with pytest.raises(AuditError, match="not JSON-serialisable"):
        trail.append("u", "operator", "ask", {"when": datetime.now()})
    with pytest.raises(AuditError, match="not JSON-serialisable"):
        trail.append("u", "operator", "ask", {"x": float("nan")})
    with pytest.raises(AuditError, match="mapping"):
        trail.append("u", "operator", "ask", ["not", "a", "dict"])
    assert issubclass(AuditError, GuardrailError)
    assert trail.head() == (0, GENESIS)


@pytest.mark.light
def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    path = tmp_path / "audit.db"
    path.write_bytes(b"not a database, " * 512)
    with pytest.raises(AuditError, match="not a database") as caught:
        AuditTrail(path)
    assert caught.value.path == path


@pytest.mark.light
def test_trail_is_append_only(trail):
    fill(trail, 2)
    conn = sqlite3.connect(trail.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE audit SET user = 'mallory' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM audit WHERE seq = 2")
    conn.close()
    mutators = [n for n in dir(trail) if re.search(r"delete|update|remove|truncate|edit|clear", n)]
    assert mutators == []
    assert trail.verify().ok


@pytest.mark.light
def test_audit_sink_covers_what_its_callers_use(trail):
    assert AuditSink.__abstractmethods__ == frozenset({"append", "records", "verify", "export"})
    assert isinstance(trail, AuditSink)

    class Incomplete(AuditSink):
        pass

    with pytest.raises(TypeError):
        Incomplete()


# -- tampering ----------------------------------------------------------------------------------

@pytest.mark.light
def test_edited_details_are_detected(trail):
    fill(trail, 6)
    tamper(trail.path, ("UPDATE audit SET details = ? WHERE seq = 3", ('{"i":2,"answer":"ok"}',)))
    result = trail.verify()
    assert (result.ok, result.first_bad_seq, result.records) == (False, 3, 2)
    assert "record 3 was altered" in result.reason


@pytest.mark.light
def test_edited_timestamp_is_detected(trail):
    records = fill(trail, 4)
    earlier = records[1].ts.replace(records[1].ts[:4], "2019")
    tamper(trail.path, ("UPDATE audit SET ts = ? WHERE seq = 2", (earlier,)))
    assert trail.verify().first_bad_seq == 2


@pytest.mark.light
def test_edited_and_rehashed_record_is_named(trail):
    records = fill(trail, 5)
    forged = records[2].to_dict() | {"user": "someone-else"}
    forged["hash"] = spec_hash(forged)
    tamper(trail.path, ("UPDATE audit SET user = ?, hash = ? WHERE seq = 3",
                        (forged["user"], forged["hash"])))
    result = trail.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)
    assert "re-hashed" in result.reason


@pytest.mark.light
def test_deleted_middle_record_is_detected(trail):
    fill(trail, 6)
    tamper(trail.path, ("DELETE FROM audit WHERE seq = 4", ()))
    result = trail.verify()
    assert (result.ok, result.first_bad_seq) == (False, 4)
    assert "record 4 is missing" in result.reason


@pytest.mark.light
def test_swapped_records_are_detected(trail):
    fill(trail, 7)
    rows = raw_rows(trail.path)
    swap = ("UPDATE audit SET ts=?, user=?, role=?, action=?, details=?, prev_hash=?, hash=? "
            "WHERE seq=?")
    tamper(trail.path, (swap, rows[5][1:] + (2,)), (swap, rows[2][1:] + (5,)))
    assert raw_rows(trail.path)[2][7] == rows[5][7]  # the swap happened
    result = trail.verify()
    assert (result.ok, result.first_bad_seq) == (False, 2)


@pytest.mark.light
def test_truncated_tail_is_detected_by_the_signed_head(trail):
    fill(trail, 8)
    tamper(trail.path, ("DELETE FROM audit WHERE seq > 6", ()))
    result = trail.verify()
    assert (result.ok, result.first_bad_seq, result.records) == (False, 7, 6)
    assert "truncated" in result.reason


@pytest.mark.light
def test_truncation_stays_detected_after_new_appends(trail):
    fill(trail, 8)
    head = stored_head(trail.path)
    tamper(trail.path, ("DELETE FROM audit WHERE seq > 5", ()))
    fill(trail, 5)  # seq 6..10 again, with different contents
    assert stored_head(trail.path) == head  # the evidence is not overwritten
    result = trail.verify()
    assert (result.ok, result.first_bad_seq) == (False, 8)


@pytest.mark.light
def test_consistently_rewritten_chain_is_detected_by_the_signed_head(trail):
    records = fill(trail, 6)
    prev, statements = records[1].hash, []
    for r in records[2:]:  # forge record 3, then re-chain everything after it
        forged = r.to_dict() | {"prev_hash": prev}
        if r.seq == 3:
            forged["details"] = {"i": 2, "question": "nothing happened"}
        forged["hash"] = spec_hash(forged)
        statements.append(("UPDATE audit SET details=?, prev_hash=?, hash=? WHERE seq=?",
                           (json.dumps(forged["details"], sort_keys=True, separators=(",", ":")),
                            forged["prev_hash"], forged["hash"], r.seq)))
        prev = forged["hash"]
    tamper(trail.path, *statements)
    result = trail.verify()
    assert (result.ok, result.first_bad_seq) == (False, 6)
    assert "rewritten" in result.reason


# -- the signed head ---------------------------------------------------------------------------

@pytest.mark.light
def test_head_behind_the_trail_is_a_failure_and_is_not_moved_on(trail):
    fill(trail, 3)
    older = stored_head(trail.path)  # a genuine signed head, as an intruder could keep a copy
    fill(trail, 2)
    put_head(trail.path, older)
    # The head commits with its records, so this is never a crash: no tolerance is needed.
    result = trail.verify()
    assert (result.ok, result.first_bad_seq, result.records) == (False, 4, 3)
    assert "not covered by the signed head" in result.reason
    trail.append("u", "operator", "ask", {})
    assert stored_head(trail.path) == older  # appending does not paper over it
    assert not trail.verify().ok


@pytest.mark.light
def test_head_with_a_foreign_hash_is_flagged(trail):
    fill(trail, 5)
    put_head(trail.path, stored_head(trail.path) | {"seq": 3, "hash": "f" * 64})
    result = trail.verify()
    assert (result.ok, result.first_bad_seq) == (False, 3)


@pytest.mark.light
@pytest.mark.parametrize("damage, reason", [("delete", "missing"), ("garble", "not a signed head")])
def test_missing_or_garbled_head_is_flagged(trail, damage, reason):
    fill(trail, 3)
    if damage == "delete":
        tamper(trail.path, ("DELETE FROM audit_head", ()))
    else:
        put_head(trail.path, "{not json")
    result = trail.verify()
    assert not result.ok and reason in result.reason
    trail.append("u", "operator", "ask", {})  # appending does not paper over it
    assert not trail.verify().ok


@pytest.mark.light
def test_the_default_key_is_outside_the_trail_and_private(trail, config_home):
    fill(trail, 1)
    keys = list((config_home / "operator-copilot").iterdir())
    assert keys == [trail.key_file] and keys[0].name == "audit.key"
    assert (keys[0].stat().st_mode & 0o777, keys[0].parent.stat().st_mode & 0o777) == (0o600,
                                                                                        0o700)
    assert not any(p.suffix == ".key" for p in trail.path.parent.iterdir())


@pytest.mark.light
def test_a_moved_or_copied_home_keeps_its_key(tmp_path):
    with AuditTrail(tmp_path / "a" / "audit.db") as original:
        fill(original, 3)
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # a restore elsewhere, a test fixture
    with AuditTrail(tmp_path / "b" / "audit.db") as copy:
        copy.append("u", "operator", "ask", {})
        assert copy.verify().ok and copy.verify().records == 4


# -- reading ------------------------------------------------------------------------------------

@pytest.mark.light
def test_records_filter_by_time_user_and_action(trail):
    records = fill(trail, 12)
    assert [r.seq for r in trail.records(user="user1")] == [2, 5, 8, 11]
    assert [r.action for r in trail.records(action="login")] == ["login"]
    assert [r.seq for r in trail.records(limit=3, newest_first=True)] == [12, 11, 10]
    start, end = (datetime.fromisoformat(records[i].ts) for i in (3, 7))
    assert [r.seq for r in trail.records(start=start, end=end)] == [4, 5, 6, 7]
    naive = start.astimezone(UTC).replace(tzinfo=None)  # naive is taken as UTC
    assert trail.records(start=naive)[0].seq == 4
    assert trail.records(user="nobody") == []
    with pytest.raises(AuditError, match="limit"):
        trail.records(limit=-1)


@pytest.mark.light
def test_exports_are_complete_copies_that_still_verify(trail):
    records = fill(trail, 5)
    start = datetime.fromisoformat(records[1].ts)
    exported = json.loads(trail.export(start=start, fmt="json"))
    assert [r["seq"] for r in exported] == [2, 3, 4, 5]
    assert all(spec_hash(r) == r["hash"] for r in exported)
    rows = list(csv.DictReader(io.StringIO(trail.export(fmt="csv"))))
    assert [int(r["seq"]) for r in rows] == [1, 2, 3, 4, 5]
    for row, record in zip(rows, records):
        fields = row | {"seq": int(row["seq"]), "details": json.loads(row["details"])}
        assert spec_hash(fields) == record.hash
    with pytest.raises(AuditError, match="unknown export format 'xml'"):
        trail.export(fmt="xml")


@pytest.mark.light
def test_threads_share_one_trail(trail):
    def work(n: int) -> None:
        for i in range(15):
            trail.append(f"thread{n}", "operator", "search", {"i": i})

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    result = trail.verify()
    assert (result.ok, result.records) == (True, 60)


# -- several processes, and processes killed mid-append -----------------------------------------

WRITER = """
import sys
from guardrails import AuditTrail

path, writer, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
trail = AuditTrail(path)
print("ready", flush=True)
n = 0
while n < count:
    record = trail.append("writer-" + writer, "operator", "ask", {"writer": writer, "n": n})
    print("ack", record.seq, record.hash, writer, n, flush=True)
    n += 1
"""


def start_writer(script: Path, db: Path, writer: str, count: int) -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, str(script), str(db), writer, str(count)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def parse_acks(lines: list[str]) -> list[tuple[int, str, str, int]]:
    acks = []
    for line in lines:
        if line.startswith("ack ") and line.endswith("\n"):  # a cut-off line is no ack
            _, seq, digest, writer, n = line.split()
            acks.append((int(seq), digest, writer, int(n)))
    return acks


def assert_writers_have_no_gaps(trail: AuditTrail) -> None:
    by_writer: dict[str, list[int]] = {}
    for r in trail.records():
        by_writer.setdefault(r.details["writer"], []).append(r.details["n"])
    for writer, ns in by_writer.items():
        assert ns == list(range(len(ns))), writer


@pytest.mark.light
@pytest.mark.slow
def test_concurrent_processes_keep_one_chain(tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    db = tmp_path / "audit.db"
    procs = [start_writer(script, db, f"w{i}", 500) for i in range(4)]
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err
    trail = AuditTrail(db)
    result = trail.verify()
    assert (result.ok, result.records) == (True, 2000), result.reason
    assert [r.seq for r in trail.records()] == list(range(1, 2001))
    assert_writers_have_no_gaps(trail)
    assert sum(len(parse_acks(out.splitlines(keepends=True))) for out, _ in outputs) == 2000


@pytest.mark.slow
def test_sigkilled_writers_lose_no_acknowledged_record(tmp_path):
    rounds, writers = 8, 25
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    db = tmp_path / "audit.db"
    acks, kills = [], 0

    def drive(proc: subprocess.Popen, plan: random.Random, lines: list[str]) -> None:
        if plan.random() < 0.15:  # while starting, opening or creating the trail
            time.sleep(plan.uniform(0, 0.4))
        else:  # somewhere inside an append, after a random number of acknowledged ones
            for _ in range(plan.randint(1, 12)):
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
            time.sleep(plan.uniform(0, 0.006))
        proc.kill()
        lines.extend(proc.stdout.read().splitlines(keepends=True))  # acks printed before the kill
        proc.wait()

    for round_no in range(rounds):
        procs = [start_writer(script, db, f"r{round_no}w{i}", 100_000) for i in range(writers)]
        outputs: list[list[str]] = [[] for _ in procs]
        drivers = [threading.Thread(target=drive, args=(p, random.Random(rng.random()), out))
                   for p, out in zip(procs, outputs)]
        for d in drivers:
            d.start()
        for d in drivers:
            d.join()
        for p, out in zip(procs, outputs):
            err = p.stderr.read()
            p.stdout.close()
            p.stderr.close()
            assert p.returncode == -signal.SIGKILL, f"seed {seed}: writer ended by itself: {err}"
            kills += 1
            acks.extend(parse_acks(out))
        result = AuditTrail(db).verify()
        assert result.ok, f"seed {seed}, round {round_no}: {result}"

    assert kills >= 200
    assert len(acks) >= 200, f"seed {seed}: too few acknowledged appends to mean anything"
    trail = AuditTrail(db)
    result = trail.verify()
    assert result.ok and result.records >= len(acks), f"seed {seed}: {result}"
    stored = {r.seq: r for r in trail.records()}
    for seq, digest, writer, n in acks:
        assert seq in stored, f"seed {seed}: acknowledged record {seq} is gone"
        record = stored[seq]
        assert (record.hash, record.details, record.user) == (digest, {"writer": writer, "n": n},
                                                              f"writer-{writer}")
    assert_writers_have_no_gaps(trail)
