"""Users and roles: salted scrypt hashes, login that reveals nothing, admin-only changes, all
audited; a store that stays consistent with several writing processes; the admin CLI."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from copilot.errors import CopilotError
from copilot.user_admin import Accounts, AdminRequiredError
from guardrails import (
    AuditTrail,
    AuthenticationError,
    InvalidUserNameError,
    UnknownRoleError,
    UnknownUserError,
    User,
    UserExistsError,
    UserStore,
    WeakPasswordError,
)
from guardrails.passwords import hash_password, verify_password

PASSWORD = "Autoclave-E22!"
ADMIN = User("site-admin", "admin")


@pytest.fixture()
def store(tmp_path) -> UserStore:
    return UserStore(tmp_path / "users.sqlite")


@pytest.fixture()
def trail(tmp_path) -> AuditTrail:
    with AuditTrail(tmp_path / "audit" / "audit.sqlite") as t:
        yield t


@pytest.fixture()
def accounts(store, trail) -> Accounts:
    return Accounts(store, trail)


def stored_hashes(path: Path) -> dict[str, str]:
    conn = sqlite3.connect(path)
    try:
        return dict(conn.execute("SELECT name, password_hash FROM users").fetchall())
    finally:
        conn.close()


# -- the store ------------------------------------------------------------------------------

@pytest.mark.light
def test_hashes_are_salted_scrypt_and_not_the_password(store):
    store.add("anna", "operator", PASSWORD)
    store.add("ben", "operator", PASSWORD)
    hashes = stored_hashes(store.path)
    assert hashes["anna"] != hashes["ben"]  # same password, different salt
    for stored in hashes.values():
        assert PASSWORD not in stored
        assert stored.startswith("scrypt$n=16384,r=8,p=1$")
    assert verify_password(PASSWORD, hashes["anna"])
    assert not verify_password(PASSWORD + "x", hashes["anna"])


@pytest.mark.light
def test_malformed_stored_hash_never_matches():
    good = hash_password(PASSWORD)
    assert not verify_password(PASSWORD, "")
    assert not verify_password(PASSWORD, good.replace("scrypt$", "md5$"))
    assert not verify_password(PASSWORD, good.replace("n=16384", "n=1000"))  # not a power of 2
    assert not verify_password(PASSWORD, good.replace("n=16384", "n=1073741824"))  # too costly


@pytest.mark.light
def test_authenticate_returns_the_user_with_role(store):
    store.add("qa.lead", "qa", PASSWORD)
    assert store.authenticate("qa.lead", PASSWORD) == User("qa.lead", "qa")


@pytest.mark.light
def test_wrong_password_unknown_user_and_disabled_fail_alike(store):
    store.add("anna", "operator", PASSWORD)
    store.add("gone", "operator", PASSWORD)
    store.disable("gone")
    refusals = {}
    for name, password in (("anna", "wrong-password"), ("nobody", PASSWORD), ("gone", PASSWORD)):
        with pytest.raises(AuthenticationError) as caught:
            store.authenticate(name, password)
        refusals[name] = caught.value
    assert len({str(e) for e in refusals.values()}) == 1  # one message for all three
    assert [e.reason for e in refusals.values()] == ["wrong_password", "unknown_user", "disabled"]
    store.enable("gone")
    assert store.authenticate("gone", PASSWORD).name == "gone"


@pytest.mark.light
def test_names_roles_and_passwords_are_validated(store):
    for bad in ("", "anna smith", "tab\tname", "nul\x00", "x" * 65, "zero\u200bwidth"):
        with pytest.raises(InvalidUserNameError):
            store.add(bad, "operator", PASSWORD)
    with pytest.raises(UnknownRoleError, match="roles: operator"):
        store.add("anna", "superuser", PASSWORD)
    with pytest.raises(WeakPasswordError, match="at least 8") as caught:
        store.add("anna", "operator", "short")
    assert "short" not in str(caught.value)
    store.add("anna", "operator", PASSWORD)
    with pytest.raises(UserExistsError):
        store.add("anna", "qa", PASSWORD)
    with pytest.raises(UnknownUserError):
        store.set_role("nobody", "qa")
    assert [a.name for a in store.list()] == ["anna"]
    assert store.get("anna").role == "operator"  # the refused re-add changed nothing


@pytest.mark.light
def test_set_role_returns_the_previous_role_and_password_change_takes_effect(store):
    store.add("anna", "operator", PASSWORD)
    assert store.set_role("anna", "supervisor") == "operator"
    assert store.get("anna").role == "supervisor"
    store.set_password("anna", "a-new-passphrase")
    with pytest.raises(AuthenticationError):
        store.authenticate("anna", PASSWORD)
    assert store.authenticate("anna", "a-new-passphrase").role == "supervisor"


def _add_users(path: str, worker: int, count: int) -> None:
    store = UserStore(Path(path))
    for i in range(count):
        store.add(f"w{worker}-u{i}", "operator", f"password-{worker}-{i}")
    store.set_role(f"w{worker}-u0", "qa")


@pytest.mark.light
def test_concurrent_adds_from_four_processes_give_a_consistent_store(tmp_path):
    path = tmp_path / "shared" / "users.sqlite"  # no process creates it before the others
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_add_users, args=(str(path), w, 15)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0, 0]
    store = UserStore(path)
    accounts = store.list()
    assert len(accounts) == 60
    assert {a.name for a in accounts} == {f"w{w}-u{i}" for w in range(4) for i in range(15)}
    assert sorted(a.name for a in accounts if a.role == "qa") == [f"w{w}-u0" for w in range(4)]
    assert store.authenticate("w3-u14", "password-3-14").name == "w3-u14"
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


# -- login and administration, audited ----------------------------------------------------

@pytest.mark.light
def test_login_and_failed_login_are_audited_without_the_password(accounts, trail):
    accounts.add_user(ADMIN, "anna", "operator", PASSWORD)
    assert accounts.login("anna", PASSWORD) == User("anna", "operator")
    with pytest.raises(AuthenticationError):
        accounts.login("anna", "Wrong-Password-7")
    with pytest.raises(AuthenticationError):
        accounts.login("mallory", "Guess-Password-8")
    logins = trail.records(action="login")
    assert [(r.user, r.role) for r in logins] == [("anna", "operator")]
    failed = trail.records(action="login_failed")
    # An unknown name is not kept (it may be a password typed into the name field).
    assert [(r.user, r.details["reason"]) for r in failed] == [
        ("anna", "wrong_password"), ("(unknown name)", "unknown_user")]
    everything = trail.export()
    for secret in (PASSWORD, "Wrong-Password-7", "Guess-Password-8", "scrypt$", "mallory"):
        assert secret not in everything
    assert trail.verify().ok


@pytest.mark.light
def test_role_change_is_audited_with_before_and_after(accounts, trail):
    accounts.add_user(ADMIN, "anna", "operator", PASSWORD)
    account = accounts.set_role(ADMIN, "anna", "supervisor")
    assert account.role == "supervisor"
    changes = trail.records(action="user_change")
    assert [r.details["operation"] for r in changes] == ["add", "set_role"]
    role_change = changes[-1]
    assert (role_change.user, role_change.role) == ("site-admin", "admin")
    assert role_change.details["target"] == "anna"
    assert role_change.details["before"] == {"role": "operator"}
    assert role_change.details["after"] == {"role": "supervisor"}
    accounts.disable(ADMIN, "anna")
    assert trail.records(action="user_change")[-1].details["after"]["disabled"] is True
    with pytest.raises(AuthenticationError):
        accounts.login("anna", PASSWORD)


@pytest.mark.light
def test_non_admin_cannot_change_users_and_the_attempt_is_audited(accounts, store, trail):
    accounts.add_user(ADMIN, "anna", "operator", PASSWORD)
    qa = User("qa.lead", "qa")
    attempts = (lambda: accounts.add_user(qa, "eve", "admin", PASSWORD),
                lambda: accounts.set_role(qa, "anna", "admin"),
                lambda: accounts.set_password(qa, "anna", "taken-over-1"),
                lambda: accounts.disable(qa, "anna"),
                lambda: accounts.list_users(qa))
    for attempt in attempts:
        with pytest.raises(AdminRequiredError, match="only an admin") as caught:
            attempt()
        assert isinstance(caught.value, CopilotError)
    assert [(a.name, a.role, a.disabled) for a in store.list()] == [("anna", "operator", False)]
    assert store.authenticate("anna", PASSWORD).name == "anna"
    denied = [r for r in trail.records(action="user_change") if r.details["outcome"] == "denied"]
    assert [(r.user, r.details["operation"]) for r in denied] == [
        ("qa.lead", "add"), ("qa.lead", "set_role"), ("qa.lead", "set_password"),
        ("qa.lead", "disable")]


# -- the admin CLI ------------------------------------------------------------------------

def _copilot(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("copilot")
    return subprocess.run([str(script), *args], input=stdin, capture_output=True, text=True,
                          env={**os.environ, "COPILOT_HOME": str(home)}, timeout=120)


@pytest.mark.light
def test_cli_add_with_password_stdin_then_list_json(tmp_path):
    home = tmp_path / "home"
    added = _copilot("users", "add", "op.anna", "--role", "operator", "--password-stdin",
                     home=home, stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    promoted = _copilot("users", "set-role", "op.anna", "supervisor", home=home)
    assert promoted.returncode == 0, promoted.stderr
    refused = _copilot("users", "add", "bad", "--role", "root", "--password-stdin", home=home,
                       stdin=PASSWORD + "\n")
    assert refused.returncode == 2 and "unknown role" in refused.stderr
    listed = _copilot("users", "list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["name"], r["role"], r["disabled"]) for r in rows] == [
        ("op.anna", "supervisor", False)]
    assert PASSWORD not in listed.stdout and "scrypt" not in listed.stdout
    store = UserStore(home / "users.sqlite")
    assert store.authenticate("op.anna", PASSWORD).role == "supervisor"  # no newline kept
    trail = AuditTrail(home / "audit" / "audit.sqlite")
    assert [(r.user, r.details["operation"]) for r in trail.records(action="user_change")] == [
        ("cli-admin", "add"), ("cli-admin", "set_role")]
