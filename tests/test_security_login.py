"""Security review F8, F6, F12, F18: login throttling and lockout, no typed-in names or
passwords in the trail, audited refusals, expiring sessions.

Real user stores and audit trails in temporary homes; the time of the back-off is a fake
clock (the back-off is stored as Unix time), so nothing depends on how fast the machine is.
The last tests go through the real login-mode server.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import UI_PASSWORD

from copilot.user_admin import UNKNOWN_NAME, Accounts
from guardrails import AuditTrail, AuthenticationError, User, UserStore
from guardrails.login_throttle import Backoff
from guardrails.passwords import hash_password

PASSWORD = "Autoclave-E22!"
ADMIN = User("site-admin", "admin")
# A password typed into the name field: it must never reach the trail.
TYPED_PASSWORD = "Pw-quinn-2026!"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def home(tmp_path) -> Path:
    return tmp_path / "home"


@pytest.fixture()
def clock() -> Clock:
    return Clock()


def make_accounts(home: Path, clock: Clock, **policy) -> Accounts:
    store = UserStore(home / "users.sqlite")
    trail = AuditTrail(home / "audit" / "audit.sqlite")
    return Accounts(store, trail, policy=Backoff(**policy), clock=clock)


def refusal(accounts: Accounts, name: str, password: str, client: str | None = None) -> str:
    with pytest.raises(AuthenticationError) as caught:
        accounts.login(name, password, client)
    assert str(caught.value) == AuthenticationError.MESSAGE  # one message, whatever the cause
    return caught.value.reason


def failed_records(accounts: Accounts) -> list:
    return accounts.audit.records(action="login_failed")


# -- lockout and back-off -------------------------------------------------------------------

@pytest.mark.light
def test_lockout_after_n_failures_even_for_the_right_password_and_it_is_audited(home, clock):
    accounts = make_accounts(home, clock, free=3, base=1.0, lock_after=5)
    accounts.store.add("anna", "operator", PASSWORD)
    for _ in range(5):
        refusal(accounts, "anna", "wrong-password-1")
        clock.now += 3600  # each attempt after its back-off: all five are checked
    assert accounts.store.get("anna").locked
    assert refusal(accounts, "anna", PASSWORD) == "locked"
    records = failed_records(accounts)
    assert [r.details["reason"] for r in records] == ["wrong_password"] * 5
    assert [r.details.get("locked", False) for r in records] == [False] * 4 + [True]
    assert records[-1].details["failures"] == 5
    assert all(r.user == "anna" for r in records)


@pytest.mark.light
def test_during_back_off_even_the_right_password_is_refused_unchecked(home, clock):
    accounts = make_accounts(home, clock, free=2, base=600.0, lock_after=10)
    accounts.store.add("anna", "operator", PASSWORD)
    refusal(accounts, "anna", "wrong-password-1")
    refusal(accounts, "anna", "wrong-password-2")
    started = time.perf_counter()
    assert refusal(accounts, "anna", PASSWORD) == "backoff"
    # Not even checked: no scrypt, no record (refusals during a back-off are not audited).
    assert len(failed_records(accounts)) == 2
    assert time.perf_counter() - started < 30  # bound only against a hang
    clock.now += 10 ** 6  # far past any wait: the right password works and clears the count
    assert accounts.login("anna", PASSWORD) == User("anna", "operator")
    refusal(accounts, "anna", "wrong-password-3")
    assert accounts.login("anna", PASSWORD).name == "anna"  # one failure is no back-off


@pytest.mark.light
def test_hammering_during_back_off_locks_the_account_quickly(home, clock):
    accounts = make_accounts(home, clock, free=3, base=600.0, lock_after=10)
    accounts.store.add("anna", "operator", PASSWORD)
    reasons = [refusal(accounts, "anna", "guess-password") for _ in range(12)]
    assert reasons == ["wrong_password"] * 3 + ["backoff"] * 6 + ["locked"] * 3
    assert accounts.store.get("anna").locked
    locked = [r for r in failed_records(accounts) if r.details.get("locked")]
    assert len(locked) == 1 and locked[0].details["failures"] == 10


@pytest.mark.light
def test_lock_and_back_off_survive_a_restart(home, clock):
    first = make_accounts(home, clock, free=3, base=600.0, lock_after=5)
    first.store.add("anna", "operator", PASSWORD)
    first.store.add("ben", "operator", PASSWORD)
    for _ in range(5):
        refusal(first, "anna", "wrong-password-1")
    for _ in range(3):
        refusal(first, "ben", "wrong-password-1")
    again = make_accounts(home, clock, free=3, base=600.0, lock_after=5)  # a new process
    assert again.store.get("anna").locked and not again.store.get("ben").locked
    assert refusal(again, "anna", PASSWORD) == "locked"
    assert refusal(again, "ben", PASSWORD) == "backoff"
    with pytest.raises(AuthenticationError, match="wrong password"):
        UserStore(home / "users.sqlite").authenticate("anna", PASSWORD)  # even unthrottled


@pytest.mark.light
def test_an_existing_home_gets_the_new_tables_and_keeps_its_accounts(home, clock):
    home.mkdir(parents=True)
    conn = sqlite3.connect(home / "users.sqlite")  # the schema before the lockout columns
    conn.execute("""CREATE TABLE users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, updated TEXT NOT NULL)""")
    conn.execute("INSERT INTO users VALUES ('anna', 'qa', ?, 0, 't0', 't0')",
                 (hash_password(PASSWORD),))
    conn.commit()
    conn.close()
    accounts = make_accounts(home, clock, free=1, base=600.0, lock_after=2)
    assert [(a.name, a.role, a.locked) for a in accounts.store.list()] == [("anna", "qa", False)]
    assert accounts.login("anna", PASSWORD) == User("anna", "qa")
    refusal(accounts, "anna", "wrong-password-1")
    refusal(accounts, "anna", "wrong-password-2")
    assert accounts.store.get("anna").locked


@pytest.mark.light
def test_admin_unlocks_and_a_non_admin_cannot(home, clock):
    accounts = make_accounts(home, clock, free=3, base=600.0, lock_after=3)
    accounts.store.add("anna", "operator", PASSWORD)
    for _ in range(3):
        refusal(accounts, "anna", "wrong-password-1")
    with pytest.raises(Exception, match="only an admin"):
        accounts.unlock(User("op", "operator"), "anna")
    assert accounts.store.get("anna").locked
    assert accounts.unlock(ADMIN, "anna").locked is False
    assert accounts.login("anna", PASSWORD).name == "anna"
    changes = [(r.user, r.details["operation"], r.details["outcome"])
               for r in accounts.audit.records(action="user_change")]
    assert changes == [("op", "unlock", "denied"), ("site-admin", "unlock", "done")]


def _copilot(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env["COPILOT_HOME"] = str(home)
    return subprocess.run([str(Path(sys.executable).with_name("copilot")), *args],
                          capture_output=True, text=True, env=env, timeout=180)


def test_cli_unlock(home, clock):
    accounts = make_accounts(home, clock, free=3, base=600.0, lock_after=10)
    accounts.store.add("anna", "operator", PASSWORD)
    for _ in range(10):
        refusal(accounts, "anna", "wrong-password-1")
    listed = _copilot("users", "list", "--json", home=home)
    assert listed.returncode == 0, listed.stderr
    assert '"locked": true' in listed.stdout
    unlocked = _copilot("users", "unlock", "anna", home=home)
    assert unlocked.returncode == 0, unlocked.stderr
    assert "anna unlocked" in unlocked.stdout
    unknown = _copilot("users", "unlock", "nobody", home=home)
    assert unknown.returncode == 2 and "no user named 'nobody'" in unknown.stderr
    assert accounts.login("anna", PASSWORD).name == "anna"  # the count is cleared as well
    change = accounts.audit.records(action="user_change")[-1]
    assert (change.user, change.details["operation"], change.details["before"]) == (
        "cli-admin", "unlock", {"locked": True})


# -- per client address ---------------------------------------------------------------------

@pytest.mark.light
def test_a_client_address_is_slowed_down_across_names(home, clock):
    accounts = make_accounts(home, clock)
    accounts.store.add("anna", "operator", PASSWORD)
    for i in range(10):  # ten different unknown names: no name's own count is reached
        refusal(accounts, f"guess-{i}", "password-1", client="10.6.6.6")
    assert refusal(accounts, "anna", PASSWORD, client="10.6.6.6") == "client_backoff"
    assert accounts.login("anna", PASSWORD, client="10.1.1.1").name == "anna"  # another one
    clock.now += 61  # past the address's capped wait
    assert accounts.login("anna", PASSWORD, client="10.6.6.6").name == "anna"
    assert accounts.audit.records(action="login")[-1].details == {"client": "10.6.6.6"}


# -- what a failed login leaves in the trail (F6) -------------------------------------------

@pytest.mark.light
def test_unknown_names_and_passwords_typed_as_names_are_never_stored(home, clock, tmp_path):
    accounts = make_accounts(home, clock, free=3, base=600.0)
    accounts.store.add("anna", "operator", PASSWORD)
    refusal(accounts, TYPED_PASSWORD, "")
    refusal(accounts, TYPED_PASSWORD, "anything")
    refusal(accounts, "mallory", "Guess-Password-8")
    refusal(accounts, "x" * 100_000, "y")  # over-long: capped before anything else
    records = failed_records(accounts)
    assert [r.user for r in records] == [UNKNOWN_NAME] * 4
    digests = [r.details["name_hmac"] for r in records]
    assert digests[0] == digests[1] != digests[2]  # the same typed name, recognisably
    everything = accounts.audit.export() + repr([r.to_dict() for r in records])
    for secret in (TYPED_PASSWORD, "mallory", "Guess-Password-8", "xxxxxxxx"):
        assert secret not in everything
    # The hash is keyed per home: another plant's trail cannot be matched against this one.
    other = make_accounts(tmp_path / "other", clock)
    refusal(other, TYPED_PASSWORD, "")
    assert failed_records(other)[0].details["name_hmac"] != digests[0]


@pytest.mark.light
def test_unknown_names_back_off_like_accounts(home, clock):
    # Otherwise the instant refusal of a throttled account would tell which names exist.
    accounts = make_accounts(home, clock, free=3, base=600.0, lock_after=10)
    reasons = [refusal(accounts, "nobody", "password-1") for _ in range(11)]
    assert reasons == ["unknown_user"] * 3 + ["backoff"] * 6 + ["locked"] * 2


# -- the login path never waits long and never blocks the event loop -------------------------

@pytest.mark.light
def test_a_locked_audit_trail_refuses_the_login_within_seconds(home, clock):
    accounts = make_accounts(home, clock)
    accounts.login_timeout = 1.0
    accounts.store.add("anna", "operator", PASSWORD)
    blocker = sqlite3.connect(home / "audit" / "audit.sqlite", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the trail
    try:
        started = time.monotonic()
        assert refusal(accounts, "anna", PASSWORD) == "audit_unavailable"  # fails closed
        assert time.monotonic() - started < 20  # the trail's own timeout is 30 s
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert accounts.login("anna", PASSWORD).name == "anna"


def test_gradio_awaits_the_login_check_in_a_worker_thread(fresh_copilot):
    from ui.identity import Identity

    identity = Identity(fresh_copilot, demo_mode=False)
    assert inspect.iscoroutinefunction(identity.check_login)  # gradio/routes.py awaits it
    fresh_copilot.accounts.store.add("anna", "operator", PASSWORD)
    fresh_copilot.accounts.login_timeout = 3.0
    trail = fresh_copilot.settings.home_dir / "audit" / "audit.sqlite"
    blocker = sqlite3.connect(trail, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the login's audit write waits its 3 s

    async def run() -> tuple[bool, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        try:
            ok = await identity.check_login("anna", PASSWORD)
        finally:
            ticker.cancel()
        return ok, ticks

    try:
        ok, ticks = asyncio.run(run())
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert ok is False  # fail closed
    assert ticks >= 10  # the loop kept running (a blocking check gives 0 ticks)


# -- sessions (F18) -------------------------------------------------------------------------

def _event_request(app, token: str, username: str):
    """A gradio event's request, as the queue builds it from the HTTP request."""
    import gradio as gr
    from starlette.requests import Request

    cookie = f"access-token-{app.cookie_id}={token}".encode()
    scope = {"type": "http", "method": "POST", "path": "/gradio_api/queue/join",
             "headers": [(b"cookie", cookie)], "query_string": b"", "app": app,
             "client": ("127.0.0.1", 50000)}
    return gr.Request(request=Request(scope), username=username)


def test_sessions_expire_when_idle_and_after_their_lifetime():
    from gradio.routes import App

    from copilot import AccessDeniedError
    from ui.sessions import Sessions

    app = App()
    app.tokens.update({"tok-anna": "anna", "tok-ben": "ben"})
    now = [0.0]
    sessions = Sessions(idle_seconds=600, lifetime_seconds=3600, clock=lambda: now[0])
    anna, ben = _event_request(app, "tok-anna", "anna"), _event_request(app, "tok-ben", "ben")
    sessions.check(anna)
    sessions.check(ben)
    for _ in range(5):  # anna keeps working, ben walks away
        now[0] += 500
        sessions.check(anna)
    with pytest.raises(AccessDeniedError, match="session has ended"):
        sessions.check(ben)
    assert "tok-ben" not in app.tokens  # gradio itself now refuses the cookie
    now[0] += 500  # 3000 s
    sessions.check(anna)
    now[0] += 500  # 3500 s: active, but the lifetime ends at 3600 s
    sessions.check(anna)
    now[0] += 200
    with pytest.raises(AccessDeniedError, match="session has ended"):
        sessions.check(anna)
    assert app.tokens == {}
    with pytest.raises(AccessDeniedError):
        sessions.check(_event_request(app, "forged", "anna"))  # a token gradio never issued


# -- denied privileged attempts (F12) -------------------------------------------------------

def test_a_denied_tab_is_audited(fresh_copilot):
    from copilot import AccessDeniedError
    from ui.identity import Identity

    identity = Identity(fresh_copilot, demo_mode=True)

    def export_csv():
        return identity.require(None, "operator", "admin", target="audit export")

    with pytest.raises(AccessDeniedError, match="may not use admin"):
        export_csv()
    assert identity.require(None, "admin", "admin").role == "admin"
    denied = fresh_copilot.audit.records(action="access_denied")
    assert len(denied) == 1
    record = denied[0]
    assert (record.user, record.role) == ("demo-operator", "operator")
    assert record.details["tab"] == "admin" and record.details["target"] == "audit export"
    assert record.details["outcome"] == "denied"


# -- through the real login-mode server -----------------------------------------------------

def post_login(url: str, name: str, password: str, client: str) -> int:
    # X-Forwarded-For from loopback is trusted by uvicorn (FORWARDED_ALLOW_IPS), as for a
    # TLS proxy on the same host: each test gets its own client address, so no other test's
    # logins from 127.0.0.1 are slowed down.
    data = urllib.parse.urlencode({"username": name, "password": password}).encode()
    request = urllib.request.Request(url + "/login", data=data,
                                     headers={"X-Forwarded-For": client})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_the_server_locks_lena_out_and_then_refuses_her_right_password(ui_server):
    url, home = ui_server
    client = "203.0.113.7"
    codes = [post_login(url, "lena", "not-lenas-password", client) for _ in range(10)]
    assert codes == [400] * 10
    assert post_login(url, "lena", UI_PASSWORD, client) == 400
    assert post_login(url, "lena", UI_PASSWORD, "203.0.113.8") == 400  # from anywhere
    assert UserStore(home / "users.sqlite").get("lena").locked  # until an admin unlocks
    records = AuditTrail(home / "audit" / "audit.sqlite").records(action="login_failed")
    lena = [r for r in records if r.user == "lena"]
    assert [r.details.get("locked", False) for r in lena][-1] is True
    assert all(r.details["client"] == client for r in lena)  # the real client's address
    assert not [r for r in AuditTrail(home / "audit" / "audit.sqlite").records(action="login")
                if r.user == "lena"]


@pytest.mark.slow
def test_the_server_never_stores_a_password_typed_as_the_name(ui_server):
    url, home = ui_server
    assert post_login(url, TYPED_PASSWORD, "a-guess-1", "203.0.113.9") == 400
    trail = AuditTrail(home / "audit" / "audit.sqlite")
    assert TYPED_PASSWORD not in trail.export()
    assert any(r.user == UNKNOWN_NAME and r.details["client"] == "203.0.113.9"
               for r in trail.records(action="login_failed"))


@pytest.mark.slow
def test_the_server_audits_an_operators_denied_admin_call(ui_server):
    from gradio_client import Client

    url, home = ui_server
    olga = Client(url + "/", auth=("olga", UI_PASSWORD), verbose=False)
    with pytest.raises(Exception, match="may not use admin"):
        olga.predict(api_name="/verify_chain")
    denied = [r for r in AuditTrail(home / "audit" / "audit.sqlite").records(
        action="access_denied") if r.user == "olga"]
    assert denied, "the refused call left no record"
    assert denied[-1].role == "operator" and denied[-1].details["tab"] == "admin"
