"""PostgreSQL for the storage tests: a throw-away database per test, on the machine's server.

Tests that need PostgreSQL skip, with the reason printed as a warning, when the server is not
reachable, but fail when CI=true: in CI a skip must never hide a broken store.
Set COPILOT_TEST_PG_ADMIN_URL to use another server (default: postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import os
import uuid
import warnings
from urllib.parse import urlsplit, urlunsplit

import pytest

ADMIN_URL = os.environ.get("COPILOT_TEST_PG_ADMIN_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
_unreachable: list[str] = []


def pg_unreachable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    if _unreachable:
        return _unreachable[0]
    try:
        import psycopg

        with psycopg.connect(ADMIN_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # any reason at all: it is reported, never swallowed
        _unreachable.append(f"PostgreSQL at {ADMIN_URL} is not reachable: "
                            f"{' '.join(str(exc).split())[:200]}")
        return _unreachable[0]
    return None


def need_postgres() -> None:
    reason = pg_unreachable()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and {reason}")
    warnings.warn(f"PostgreSQL tests skipped: {reason}", stacklevel=2)
    pytest.skip(reason)


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(ADMIN_URL)._replace(path="/" + name))


def create_database() -> tuple[str, str]:
    """(name, url) of a new empty database."""
    import psycopg

    need_postgres()
    name = f"copilot_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name, database_url(name)


def drop_database(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_database_url():
    """For a test module's `pg_url` fixture: `yield from fresh_database_url()` gives the URL of
    a fresh database, dropped after the test."""
    name, url = create_database()
    try:
        yield url
    finally:
        drop_database(name)
