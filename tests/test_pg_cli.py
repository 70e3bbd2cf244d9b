"""`copilot db ...`, `copilot audit verify` and `copilot serve` against PostgreSQL, as an
administrator runs them (subprocesses with COPILOT_DATABASE_URL set)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
import storage_pg


@pytest.fixture()
def pg_url():
    yield from storage_pg.fresh_database_url()


COPILOT = str(Path(sys.executable).with_name("copilot"))


@pytest.fixture()
def env(pg_url, tmp_path) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    return {**clean, "COPILOT_DATABASE_URL": pg_url, "COPILOT_HOME": str(tmp_path / "home"),
            "COPILOT_AUDIT_KEY_FILE": str(tmp_path / "keys" / "audit.key")}


def copilot(env: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    result = subprocess.run([COPILOT, *args], env=env, input=stdin, capture_output=True,
                            text=True, timeout=300)
    # The console wraps long lines: compare the words.
    result.stdout, result.stderr = (" ".join(t.split()) for t in (result.stdout, result.stderr))
    return result


def test_serve_refuses_an_unmigrated_database_and_status_says_why(env):
    served = copilot(env, "serve", "--login", "--port", "1")
    assert served.returncode == 2
    assert "copilot db upgrade" in served.stderr and "audit is at version 0" in served.stderr
    status = copilot(env, "db", "status")
    assert status.returncode == 1 and "catalog" in status.stdout


def test_upgrade_then_users_and_audit_verify_on_postgresql(env, pg_url):
    upgraded = copilot(env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert "audit: version 0 -> 1" in upgraded.stdout
    assert "up to date" in copilot(env, "db", "upgrade").stdout
    assert copilot(env, "db", "status").returncode == 0
    added = copilot(env, "users", "add", "adam", "--role", "admin", "--password-stdin",
                    stdin="correct-horse-battery\n")
    assert added.returncode == 0, added.stderr
    verified = copilot(env, "audit", "verify")
    assert verified.returncode == 0 and "audit trail OK" in verified.stdout, verified.stderr
    with psycopg.connect(pg_url) as conn:  # the records are in the database, not the home
        assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] >= 1
        assert conn.execute("SELECT name FROM users").fetchall() == [("adam",)]
    assert not (Path(env["COPILOT_HOME"]) / "audit" / "audit.sqlite").exists()


def test_a_newer_schema_is_refused(env, pg_url):
    assert copilot(env, "db", "upgrade").returncode == 0
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE copilot_schema SET version = 99 WHERE component = 'accounts'")
    served = copilot(env, "serve", "--login", "--port", "1")
    assert served.returncode == 2 and "accounts is at version 99" in served.stderr
    assert "newer" in copilot(env, "db", "upgrade").stderr


def test_a_bad_database_url_is_named(env):
    env["COPILOT_DATABASE_URL"] = "mysql://u:secret@host/db"
    result = copilot(env, "db", "status")
    assert result.returncode == 2 and "not a PostgreSQL URL" in result.stderr
    assert "secret" not in result.stderr
