"""Adopting a trail from before signed heads: `copilot audit adopt-legacy`.

The legacy trail is written the way the old design wrote it, with sqlite3 and the documented
hash recipe: the `audit` table and its triggers, no `audit_head` table, no public key, and the
unsigned head file `audit.sqlite.head` ({"seq", "hash"}) beside it. Every case runs the real
CLI in a subprocess against a real home, with its key in a folder outside the home.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from guardrails import AuditError, AuditTrail

COPILOT = str(Path(sys.executable).with_name("copilot"))
GENESIS = "0" * 64
LEGACY_SCHEMA = """
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY, ts TEXT NOT NULL, user TEXT NOT NULL, role TEXT NOT NULL,
    action TEXT NOT NULL, details TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE INDEX audit_ts ON audit (ts);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: records cannot be updated'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'audit trail is append-only: records cannot be deleted'); END;
"""


class Home:
    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.key = root / "keys" / "audit.key"  # outside the home, as the CLI demands
        self.db = self.home / "audit" / "audit.sqlite"
        self.legacy = self.db.with_name("audit.sqlite.head")
        self.adopted = self.db.with_name("audit.sqlite.head.adopted")

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
        env |= {"COPILOT_HOME": str(self.home), "COPILOT_AUDIT_KEY_FILE": str(self.key),
                "COLUMNS": "1000"}  # rich would wrap the reason at 80 columns
        return subprocess.run([COPILOT, "audit", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    def trail(self) -> AuditTrail:
        return AuditTrail(self.db, key_file=self.key)

    def write_legacy_head(self, seq: int, digest: str) -> None:
        self.legacy.write_text(json.dumps({"seq": seq, "hash": digest}))

    def hashes(self) -> list[str]:
        conn = sqlite3.connect(self.db)
        found = [h for (h,) in conn.execute("SELECT hash FROM audit ORDER BY seq")]
        conn.close()
        return found


def legacy_record(seq: int, prev: str, action: str, details: dict) -> tuple:
    ts = datetime(2026, 1, 1, 8, 0, seq, tzinfo=UTC).isoformat(timespec="microseconds")
    fields = {"seq": seq, "ts": ts, "user": f"user{seq % 3}", "role": "operator",
              "action": action, "details": details, "prev_hash": prev}
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True, separators=(",", ":"),
                                       ensure_ascii=False).encode("utf-8")).hexdigest()
    details_json = json.dumps(details, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return (seq, ts, fields["user"], "operator", action, details_json, prev, digest)


@pytest.fixture()
def legacy(tmp_path) -> Home:
    """A home whose trail has 12 records and a legacy head naming the newest, as before."""
    home = Home(tmp_path)
    home.db.parent.mkdir(parents=True)
    conn = sqlite3.connect(home.db, isolation_level=None)
    conn.executescript(LEGACY_SCHEMA)
    prev, rows = GENESIS, []
    for seq in range(1, 13):
        rows.append(legacy_record(seq, prev, "ask", {"question": f"q{seq}", "n": seq}))
        prev = rows[-1][-1]
    conn.executemany("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()
    home.write_legacy_head(12, prev)
    return home


@pytest.mark.light
def test_verify_fails_on_a_legacy_trail_and_names_adopt_legacy(legacy):
    result = legacy.cli("verify")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "signed head is missing" in result.stderr
    assert "copilot audit adopt-legacy" in result.stderr


@pytest.mark.light
def test_adoption_signs_the_trail_records_itself_and_keeps_the_head_file(legacy):
    legacy_head = json.loads(legacy.legacy.read_text())
    adopted = legacy.cli("adopt-legacy")
    assert adopted.returncode == 0, adopted.stderr
    assert "adopted" in adopted.stdout
    verified = legacy.cli("verify")
    assert verified.returncode == 0, verified.stderr
    assert "13 records verified, head signed" in verified.stdout
    # The adoption is the trail's newest record, and the old head file is kept as evidence.
    record = legacy.trail().records()[-1]
    assert (record.seq, record.action, record.user, record.role) == (13, "config_change",
                                                                      "cli-admin", "admin")
    assert record.details == {"kind": "audit_adopt_legacy", "legacy_head": legacy_head,
                              "records": 12}
    assert not legacy.legacy.exists()
    assert json.loads(legacy.adopted.read_text()) == legacy_head
    # From now on appends sign on, and a second adoption is refused.
    legacy.trail().append("olga", "operator", "search", {"query": "E-22"})
    assert legacy.cli("verify").returncode == 0
    again = legacy.cli("adopt-legacy")
    assert again.returncode == 2 and "already has a signed head" in again.stderr


@pytest.mark.light
def test_appends_before_adoption_keep_the_head_file_at_the_newest_record(legacy):
    # The service may run for days between the upgrade and the adoption.
    with legacy.trail() as trail:
        trail.append("olga", "operator", "ask", {"question": "after the upgrade"})
        trail.append_many([("olga", "operator", "search", {"i": i}) for i in range(3)])
        assert not trail.verify().ok  # still unsigned: only the adoption signs it
    assert json.loads(legacy.legacy.read_text()) == {"seq": 16, "hash": legacy.hashes()[-1]}
    adopted = legacy.cli("adopt-legacy")
    assert adopted.returncode == 0, adopted.stderr
    assert legacy.trail().records()[-1].details["records"] == 16
    assert legacy.cli("verify").returncode == 0


@pytest.mark.parametrize("case, expected", [
    ("behind", "names record 10, behind the trail's newest record 12"),
    ("ahead", "names record 15, but the trail ends at record 12: the trail was truncated"),
    ("other_hash", "names record 12 with hash"),
    ("missing", "there is no legacy head file audit.sqlite.head"),
    ("garbled", "legacy head file audit.sqlite.head is unreadable"),
])
@pytest.mark.light
def test_adoption_is_refused_unless_the_head_file_names_the_newest_record(legacy, case,
                                                                          expected):
    hashes = legacy.hashes()
    if case == "behind":  # records 11-12 cut and re-appended, or an older file put back
        legacy.write_legacy_head(10, hashes[9])
    elif case == "ahead":
        legacy.write_legacy_head(15, "a" * 64)
    elif case == "other_hash":
        legacy.write_legacy_head(12, hashes[10])
    elif case == "missing":
        legacy.legacy.unlink()
    else:
        legacy.legacy.write_text("{not json")
    before = legacy.legacy.read_bytes() if legacy.legacy.exists() else None
    refused = legacy.cli("adopt-legacy")
    assert refused.returncode == 2, refused.stdout
    assert "not adopted" in refused.stderr and expected in refused.stderr
    # Nothing changed: no record, no head, the head file untouched.
    assert len(legacy.hashes()) == 12
    assert not legacy.adopted.exists()
    assert (legacy.legacy.read_bytes() if legacy.legacy.exists() else None) == before
    assert "signed head is missing" in legacy.cli("verify").stderr


@pytest.mark.light
def test_adoption_is_refused_for_a_broken_chain(legacy):
    conn = sqlite3.connect(legacy.db, isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_update")
    conn.execute("UPDATE audit SET user = 'mallory' WHERE seq = 5")
    conn.close()
    refused = legacy.cli("adopt-legacy")
    assert refused.returncode == 2
    assert "its hash chain is broken: record 5 was altered" in refused.stderr
    assert len(legacy.hashes()) == 12 and legacy.legacy.exists()


@pytest.mark.light
def test_adoption_is_refused_for_a_signed_trail_even_with_a_matching_head_file(tmp_path):
    home = Home(tmp_path)
    with home.trail() as trail:
        trail.append_many([("olga", "operator", "ask", {"i": i}) for i in range(5)])
    # An intruder cuts the newest record and plants a head file matching the cut trail: while
    # the signed head is there, it decides. (Had they deleted the head row too, nothing in
    # the home could tell; that is why adoption is a person's decision, never automatic.)
    conn = sqlite3.connect(home.db, isolation_level=None)
    conn.execute("DROP TRIGGER audit_no_delete")
    conn.execute("DELETE FROM audit WHERE seq = 5")
    conn.close()
    home.write_legacy_head(4, home.hashes()[-1])
    refused = home.cli("adopt-legacy")
    assert refused.returncode == 2 and "already has a signed head" in refused.stderr
    assert "trail truncated" in home.cli("verify").stderr


@pytest.mark.light
def test_an_empty_trail_is_not_adopted(tmp_path):
    home = Home(tmp_path)
    home.trail().close()
    home.write_legacy_head(0, GENESIS)  # what the old design wrote for a new trail
    with pytest.raises(AuditError, match="the trail is empty"):
        home.trail().adopt_legacy("cli-admin", "admin")
    assert home.legacy.exists() and home.hashes() == []


@pytest.mark.light
def test_the_users_cli_also_refuses_an_audit_key_inside_the_home(tmp_path):
    # build_audit_trail is the one constructor: `copilot users` used to skip this check.
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env |= {"COPILOT_HOME": str(home), "COPILOT_AUDIT_KEY_FILE": str(home / "audit.key"),
            "COLUMNS": "1000"}
    refused = subprocess.run([COPILOT, "users", "list"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 2 and "keep the audit key outside" in refused.stderr
    assert not (home / "audit.key").exists()
