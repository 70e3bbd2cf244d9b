"""The audit trail on both stores: the same tests for the SQLite file and PostgreSQL, then what
only a shared server has (several hosts' writers, a connection cut mid-load, role rights).

Tampering is done as an intruder with database access would: straight SQL, with the
append-only triggers dropped (SQLite) or disabled (PostgreSQL, as the table's owner).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import storage_pg

from guardrails import AuditError, AuditTrail, parse_witness
from guardrails.audit import SCHEMA
from storage import PostgresDatabase, upgrade


@pytest.fixture()
def pg_url():
    yield from storage_pg.fresh_database_url()


REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def config_home(tmp_path_factory, monkeypatch) -> Path:
    config = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    return config


class Store:
    """Where a trail lives, and an intruder's raw access to it."""

    def __init__(self, kind: str, tmp_path: Path, url: str | None) -> None:
        self.kind, self.url = kind, url
        self.file = tmp_path / "home" / "audit.sqlite"
        self.key_file = tmp_path / "keys" / "audit.key"
        if kind == "postgresql":
            upgrade(PostgresDatabase(url), SCHEMA)

    @property
    def location(self):
        return self.file if self.kind == "sqlite" else PostgresDatabase(self.url)

    @property
    def argument(self) -> str:
        return str(self.file) if self.kind == "sqlite" else self.url

    def trail(self, **kwargs) -> AuditTrail:
        return AuditTrail(self.location, key_file=self.key_file, **kwargs)

    def tamper(self, *statements: tuple[str, tuple]) -> None:
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.file, isolation_level=None)
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'"
                                        ).fetchall():
                conn.execute(f"DROP TRIGGER {name}")
            for sql, params in statements:
                conn.execute(sql, params)
            conn.close()
            return
        with psycopg.connect(self.url, autocommit=True) as conn:
            for table in ("audit", "audit_head"):
                conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            for sql, params in statements:
                conn.execute(sql.replace("?", "%s"), params)
            for table in ("audit", "audit_head"):
                conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")

    def raw(self, sql: str, params: tuple = ()):
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.file, isolation_level=None)
            try:
                return conn.execute(sql, params).fetchall()
            finally:
                conn.close()
        with psycopg.connect(self.url, autocommit=True) as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> Store:
    url = request.getfixturevalue("pg_url") if request.param == "postgresql" else None
    return Store(request.param, tmp_path, url)


def fill(trail: AuditTrail, n: int) -> list:
    return [trail.append(f"user{i % 3}", "operator", "ask", {"i": i, "q": f"E-{i}"})
            for i in range(n)]


# -- the same behaviour on both stores --------------------------------------------------------

def test_appends_chain_and_verify_with_a_signed_head(store):
    with store.trail() as trail:
        records = fill(trail, 12)
        result = trail.verify()
    assert (result.ok, result.records) == (True, 12), result.reason
    assert result.head.seq == 12 and result.head.hash == records[-1].hash
    assert [r.prev_hash for r in records[1:]] == [r.hash for r in records[:-1]]


def test_reopening_continues_the_chain(store):
    with store.trail() as trail:
        fill(trail, 3)
    with store.trail() as trail:
        record = trail.append("olga", "operator", "search", {"q": "x"})
        assert record.seq == 4
        assert trail.verify().ok


def test_the_database_refuses_updates_and_deletes(store):
    with store.trail() as trail:
        fill(trail, 2)
    for sql in ("UPDATE audit SET role = 'admin' WHERE seq = 1", "DELETE FROM audit WHERE seq = 2"):
        error = sqlite3.DatabaseError if store.kind == "sqlite" else psycopg.Error
        with pytest.raises(error, match="append-only"):
            store.raw(sql)
    assert len(store.raw("SELECT seq FROM audit")) == 2


def test_an_edited_record_is_named(store):
    with store.trail() as trail:
        fill(trail, 6)
    store.tamper(("UPDATE audit SET details = ? WHERE seq = 3", ('{"i":2,"q":"forged"}',)))
    result = store.trail().verify()
    assert (result.ok, result.first_bad_seq) == (False, 3), result.reason


def test_a_truncated_tail_is_caught_by_the_signed_head(store):
    with store.trail() as trail:
        fill(trail, 8)
    store.tamper(("DELETE FROM audit WHERE seq > 5", ()))
    result = store.trail().verify()
    assert not result.ok and "truncated" in result.reason


def test_a_forged_head_is_caught(store):
    with store.trail() as trail:
        fill(trail, 4)
    head = json.loads(store.raw("SELECT head FROM audit_head")[0][0])
    head["time"] = "2020-01-01T00:00:00.000000+00:00"
    store.tamper(("UPDATE audit_head SET head = ?", (json.dumps(head),)))
    result = store.trail().verify()
    assert not result.ok and "signature is invalid" in result.reason


def test_a_witness_catches_a_rollback(store):
    with store.trail() as trail:
        fill(trail, 5)
        witness = trail.verify().head
        fill(trail, 3)
    # Roll back to record 3 and re-sign as someone holding the key would: a consistent trail.
    store.tamper(("DELETE FROM audit WHERE seq > 3", ()), ("DELETE FROM audit_head", ()))
    with store.trail() as trail:
        signer = trail._signer_for(trail._connection())
        from guardrails.audit_head import sign_head

        seq, digest = trail.head()
        store.tamper(("INSERT INTO audit_head (id, head) VALUES (1, ?)",
                      (sign_head(signer, seq, digest).to_json(),)))
        assert trail.verify().ok  # the re-signed roll-back alone looks fine ...
        result = trail.verify([witness])
    assert not result.ok and "witness saw record 5" in result.reason  # ... the witness does not


def test_records_and_exports_read_either_store(store):
    with store.trail() as trail:
        fill(trail, 9)
        assert [r.seq for r in trail.records(user="user1")] == [2, 5, 8]
        assert [r.seq for r in trail.records(action="ask", limit=2, newest_first=True)] == [9, 8]
        exported = json.loads(trail.export())
    assert [r["hash"] for r in exported] == [r[0] for r in
                                            store.raw("SELECT hash FROM audit ORDER BY seq")]


def test_a_second_key_is_refused(store, tmp_path):
    with store.trail() as trail:
        fill(trail, 1)
    other = AuditTrail(store.location, key_file=tmp_path / "other" / "audit.key")
    with pytest.raises(AuditError, match="(signed by key|holds key|already signed)"):
        other.append("olga", "operator", "ask", {})


WRITER = """
import sys
from guardrails import AuditError, AuditTrail
from storage import PostgresDatabase
location, key, name, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pause = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
import time
db = PostgresDatabase(location) if location.startswith("postgresql") else location
trail = AuditTrail(db, key_file=key)
for i in range(n):
    try:
        r = trail.append(name, "operator", "ask", {"writer": name, "n": i})
        print("ack", r.seq, r.hash, i, flush=True)
    except AuditError as exc:
        print("err", i, str(exc).replace("\\n", " "), flush=True)
    if pause:
        time.sleep(pause)
"""


def run_writers(store: Store, tmp_path: Path, writers: int, n: int, pause: float = 0.0):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    with store.trail() as trail:  # the key and the pinned public key exist before the race
        trail.append("setup", "admin", "config_change", {"kind": "test"})
    return [subprocess.Popen([sys.executable, str(script), store.argument, str(store.key_file),
                              f"w{i}", str(n), str(pause)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=REPO)
            for i in range(writers)]


def parse(output: str) -> tuple[list[tuple[int, str, int]], list[str]]:
    acks, errors = [], []
    for line in output.splitlines():
        kind, rest = line.split(" ", 1)
        if kind == "ack":
            seq, digest, i = rest.split()
            acks.append((int(seq), digest, int(i)))
        else:
            errors.append(rest)
    return acks, errors


@pytest.mark.slow
def test_four_processes_times_500_appends_make_one_chain(store, tmp_path):
    procs = run_writers(store, tmp_path, 4, 500)
    outputs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    acks = [parse(out)[0] for out, _ in outputs]
    assert [len(a) for a in acks] == [500] * 4  # 0 lost: every append acknowledged
    with store.trail() as trail:
        result = trail.verify()
        records = trail.records()
    assert (result.ok, result.records) == (True, 2001), result.reason
    assert [r.seq for r in records] == list(range(1, 2002))  # one chain, no gap
    stored = {r.seq: r.hash for r in records}
    assert all(stored[seq] == digest for a in acks for seq, digest, _ in a)
    for i in range(4):  # 0 duplicated, in each writer's order
        ns = [r.details["n"] for r in records if r.details.get("writer") == f"w{i}"]
        assert ns == list(range(500))


# -- PostgreSQL only --------------------------------------------------------------------------

@pytest.fixture()
def pg_store(pg_url, tmp_path) -> Store:
    return Store("postgresql", tmp_path, pg_url)


def copilot_backends(url: str) -> list[int]:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND "
            "application_name = 'operator-copilot'", (name,))]


def terminate(admin_url: str, pids: list[int]) -> int:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return sum(bool(conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0])
                   for pid in pids)


def test_an_unmigrated_database_is_refused_with_the_command(pg_url, tmp_path):
    with pytest.raises(AuditError, match="copilot db upgrade"):
        AuditTrail(PostgresDatabase(pg_url), key_file=tmp_path / "k" / "audit.key")


def test_truncate_is_refused_too(pg_store):
    with pg_store.trail() as trail:
        fill(trail, 1)
    with pytest.raises(psycopg.Error, match="append-only"):
        pg_store.raw("TRUNCATE audit")


def test_a_role_without_update_rights_cannot_change_records(pg_store):
    """Triggers can be disabled by the table's owner; the copilot's own role cannot even try."""
    role = f"copilot_app_{uuid.uuid4().hex[:8]}"
    with pg_store.trail() as trail:
        fill(trail, 2)
    from copilot.cli.db import grant_app_role, schemas

    for schema, _ in schemas():  # the app role's rights cover every store's tables
        upgrade(PostgresDatabase(pg_store.url), schema)
    grant_app_role(PostgresDatabase(pg_store.url), role, create=True)
    app_url = pg_store.url.replace("postgres@", f"{role}@", 1)
    try:
        with AuditTrail(PostgresDatabase(app_url), key_file=pg_store.key_file) as trail:
            trail.append("olga", "operator", "ask", {"as": "app role"})
            assert trail.verify().ok
        with psycopg.connect(app_url, autocommit=True) as conn:
            for sql in ("UPDATE audit SET role = 'admin'", "DELETE FROM audit",
                        "ALTER TABLE audit DISABLE TRIGGER USER"):
                with pytest.raises(psycopg.Error, match="(permission denied|must be owner)"):
                    conn.execute(sql)
    finally:
        with psycopg.connect(pg_store.url, autocommit=True) as conn:
            conn.execute(f'DROP OWNED BY "{role}"')
            conn.execute(f'DROP ROLE "{role}"')


@pytest.mark.slow
def test_connections_cut_mid_load_fork_nothing_and_recover(pg_store, tmp_path):
    """pg_terminate_backend on every copilot connection, three times, while 4 processes append:
    each append either returns a record that is stored, or raises a clear error; the chain
    stays one chain; the writers go on without anyone stepping in."""
    from storage_pg import ADMIN_URL

    n = 300
    procs = run_writers(pg_store, tmp_path, 4, n, pause=0.005)
    killed = 0
    for _ in range(3):
        # Every writer connected (again, after the previous cut): then cut them all.
        deadline = time.monotonic() + 180
        while len(pids := copilot_backends(pg_store.url)) < 4 and time.monotonic() < deadline:
            if any(p.poll() is not None for p in procs):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        killed += terminate(ADMIN_URL, pids)
    outputs = [p.communicate(timeout=600) for p in procs]
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    assert killed >= 3, "the test cut no connection"
    parsed = [parse(out) for out, _ in outputs]
    acks = [a for a, _ in parsed]
    errors = [e for _, errs in parsed for e in errs]
    with pg_store.trail() as trail:
        result = trail.verify()
        stored = {r.seq: r.hash for r in trail.records()}
    assert result.ok, result.reason  # no fork, no gap
    # Nothing acknowledged is missing: what a caller was given is what is stored.
    assert all(stored.get(seq) == digest for a in acks for seq, digest, _ in a)
    unknown = [e for e in errors if "may or may not" in e]
    assert len(stored) - 1 - sum(map(len, acks)) in range(len(unknown) + 1)
    for error in errors:  # every failure says what happened
        assert "audit database" in error, error
    for a in acks:  # each writer recovered on its own: its last appends went through
        assert a and a[-1][2] == n - 1


def test_a_database_that_is_away_gives_clear_errors_then_recovers(pg_store):
    """Connections refused (the database is closed to new connections, its sessions cut):
    appends fail with a clear error, and work again once it is back, with the same object."""
    from storage_pg import ADMIN_URL

    name = pg_store.url.rsplit("/", 1)[1]
    trail = pg_store.trail(timeout=2)
    fill(trail, 2)
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            assert terminate(ADMIN_URL, [r[0] for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (name,))]) >= 1
            for _ in range(2):
                with pytest.raises(AuditError, match="audit database is unavailable, nothing "
                                                     "was recorded"):
                    trail.append("olga", "operator", "ask", {"while": "away"})
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    record = trail.append("olga", "operator", "ask", {"after": "back"})
    assert record.seq == 3
    assert trail.verify().ok


def test_threads_in_one_process_share_one_chain_on_postgresql(pg_store):
    trail = pg_store.trail()
    errors: list[Exception] = []

    def work(n: int) -> None:
        try:
            for i in range(40):
                trail.append(f"t{n}", "operator", "ask", {"i": i})
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    result = trail.verify()
    assert (result.ok, result.records) == (True, 160), result.reason


def test_witness_files_work_on_postgresql(pg_store):
    with pg_store.trail() as trail:
        fill(trail, 3)
        line = trail.verify().head.to_json()
        fill(trail, 2)
        assert trail.verify(parse_witness(line + "\n")).ok


def test_granting_before_the_upgrade_is_refused_with_the_command(pg_url):
    from copilot.cli.db import grant_app_role
    from storage import SchemaError

    with pytest.raises(SchemaError, match="does not exist: run `copilot db upgrade` first"):
        grant_app_role(PostgresDatabase(pg_url), "copilot_never_made", create=False)


def test_a_forked_child_leaves_the_parents_session_alone(pg_store):
    import gc
    import os

    trail = pg_store.trail()
    fill(trail, 1)
    backend = trail._connection().raw.info.backend_pid
    child = os.fork()
    if child == 0:  # the child appends on a connection of its own, then is collected
        code = 0
        try:
            trail.append("child", "operator", "ask", {"from": "child"})
            del trail
            gc.collect()
        except BaseException:  # reported through the exit code
            code = 1
        os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    trail.append("parent", "operator", "ask", {"after": "fork"})
    assert trail._connection().raw.info.backend_pid == backend  # not cut by the child
    result = trail.verify()
    assert (result.ok, result.records) == (True, 3), result.reason
