"""Login and user administration, with every outcome written to the audit trail.

`guardrails.UserStore` keeps the accounts; this layer decides who may change them (admins
only) and records each login, failed login and change (21 CFR 11.10(d) limits access to
authorised individuals; 11.10(e) wants the changes in the trail). Passwords never reach the
trail, in any form, and neither does a name that is not an account's: it may be a password
typed into the wrong field, so only a keyed hash of it is kept.

Logins are throttled (guardrails/login_throttle.py) per account, per unknown name and per
client address; an account is locked after repeated failures until an admin unlocks it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from guardrails import (
    Account,
    AuditError,
    AuditSink,
    AuditTrail,
    AuthenticationError,
    GuardrailError,
    User,
    UserStore,
    can,
)
from guardrails.login_throttle import AddressThrottle, Backoff, FailureCounter, Gate
from guardrails.user_store import MAX_NAME_LENGTH

from .errors import CopilotError
from .settings import Settings

T = TypeVar("T")
log = logging.getLogger(__name__)
_LOGGED_NAME_CHARS = 64
# Who a failed login's record names when the typed name is no account's. It has a space, so
# no account can be called that (account names have none).
UNKNOWN_NAME = "(unknown name)"
# Per client address: 10 password checks in 15 minutes, then 1 s doubling up to 1 minute.
# Milder than per account, and never a lockout: one address may be a tablet or a proxy that
# many honest users share.
ADDRESS_POLICY = Backoff(free=10, base=1.0, cap=60.0, lock_after=0)
ADDRESS_WINDOW_SECONDS = 900.0


def login_policy(settings: Settings) -> Backoff:
    return Backoff(free=settings.login_backoff_after, base=settings.login_backoff_seconds,
                   cap=settings.login_backoff_max_seconds,
                   lock_after=settings.login_lockout_after)


class AdminRequiredError(CopilotError):
    """A user who is not an admin tried to change or list user accounts."""

    def __init__(self, user: User, action: str) -> None:
        self.user = user
        self.action = action
        super().__init__(f"user {user.name!r} (role {user.role}) may not {action}: "
                         f"only an admin may change user accounts")


class Accounts:
    def __init__(self, store: UserStore, audit: AuditSink, *, policy: Backoff | None = None,
                 login_timeout: float = 2.0, clock: Callable[[], float] = time.time,
                 read_only: str | None = None) -> None:
        self.store = store
        self.audit = audit
        # Why accounts cannot be changed here (demo mode: anyone picks the admin role), or None.
        self.read_only = read_only
        # Busy timeout of login's store and audit writes: a locked database must refuse a
        # login within seconds (fail closed), not hold it for the usual 30 s.
        self.login_timeout = login_timeout
        self.clock = clock  # Unix time: account back-off is stored and outlives restarts
        self.addresses = AddressThrottle(ADDRESS_POLICY, ADDRESS_WINDOW_SECONDS)
        self._login_audit: AuditSink | None = None
        self.configure(policy or Backoff())

    def configure(self, policy: Backoff, *, login_timeout: float | None = None) -> None:
        self.policy = policy
        self.unknown_names = FailureCounter(policy)
        if login_timeout is not None:
            self.login_timeout = login_timeout
            self._login_audit = None

    # -- login ------------------------------------------------------------------------------

    def login(self, name: str, password: str, client: str | None = None) -> User:
        """The user for a correct name and password; `AuthenticationError` otherwise, with
        the same message whatever went wrong: unknown name, wrong password, disabled,
        locked, waiting out a back-off, or an audit trail that cannot record the login.
        `client` is the caller's network address, when known.

        While an account, name or address must wait, the password is not even checked,
        and such refusals are not audited: they cost nothing, and recording each one would
        let anyone grow the trail without limit. Checked failures and lockouts are audited.
        """
        now = self.clock()
        # The length cap comes first: a megabyte "name" must not reach the store or a hash.
        known_length = isinstance(name, str) and 0 < len(name) <= MAX_NAME_LENGTH
        if client is not None and self.addresses.wait(client, now) > 0:
            raise AuthenticationError("client_backoff")
        try:
            gate = self.store.begin_login(name, self.policy, now, timeout=self.login_timeout)
        except GuardrailError as exc:  # a busy or broken store refuses, it never waits long
            log.error("login refused: the user store is unavailable: %s", exc)
            raise AuthenticationError("store_unavailable") from exc
        known = gate is not None
        if gate is None:
            gate = self.unknown_names.claim(self._name_digest(name) if known_length else "",
                                            now)
        if gate.verdict != "check":
            if gate.locked_now and known:
                self._audit_failure(name, True, "backoff", gate, client, locked=True)
            raise AuthenticationError(gate.verdict)
        try:
            user = self.store.authenticate(name, password)
        except AuthenticationError as exc:
            if client is not None:
                self.addresses.failed(client, now)
            locked = known and self._lock_if_due(name)
            self._audit_failure(name, known, exc.reason, gate, client, locked=locked)
            raise
        try:
            self.store.login_succeeded(name, timeout=self.login_timeout)
        except GuardrailError as exc:  # the count stays; the login itself is still good
            log.error("failure count of %r not cleared: %s", name, exc)
        details = {"client": client} if client else {}
        if not self._append_login(user.name, user.role, "login", details):
            # Fail closed: a login the trail cannot show did not happen.
            raise AuthenticationError("audit_unavailable")
        return user

    def unlock(self, by: User, name: str) -> Account:
        """Let a locked account log in again (and forget its failures in a row)."""
        was = self._as_admin(by, "unlock", name, lambda: self.store.unlock(name))
        account = self.store.get(name)
        self._changed(by, "unlock", name, before={"locked": was}, after={"locked": False})
        return account

    def _lock_if_due(self, name: str) -> bool:
        try:
            return self.store.login_failed(name, self.policy, timeout=self.login_timeout)
        except GuardrailError as exc:  # the claimed attempt is already counted
            log.error("lockout of %r not recorded: %s", name, exc)
            return False

    def _audit_failure(self, name: str, known: bool, reason: str, gate: Gate,
                       client: str | None, *, locked: bool) -> None:
        details: dict[str, Any] = {"reason": reason, "failures": gate.failures}
        if not known:
            # Never the typed string: it may be a password typed into the name field. The
            # keyed hash still shows which failures typed the same thing, and the key stays
            # in the home (users.sqlite), so the hash cannot be checked against guesses
            # without it.
            details["name_hmac"] = self._name_digest(name)
        if locked:
            details["locked"] = True
        if client:
            details["client"] = client
        self._append_login(name if known else UNKNOWN_NAME, "none", "login_failed", details)
        if locked:
            log.warning("account %r locked after %d failed logins in a row", name,
                        gate.failures)

    def _append_login(self, user: str, role: str, action: str, details: dict) -> bool:
        """Write a login record with a short busy timeout; False when it cannot be written.

        A login must not wait 30 s for a locked trail (the main trail's patience, right for
        answers that must be recorded): it gets its own connection and a short timeout."""
        try:
            if self._login_audit is None:
                self._login_audit = self._short_timeout_trail()
            self._login_audit.append(user, role, action, details)
            return True
        except AuditError as exc:
            log.error("login audit record not written (%s for %s): %s", action, user, exc)
            return False

    def _short_timeout_trail(self) -> AuditSink:
        if not isinstance(self.audit, AuditTrail):
            return self.audit  # another sink (tests, a remote trail) has its own timing
        # The same trail (file or database) and the same signing key file.
        return AuditTrail(self.audit.path, timeout=self.login_timeout,
                          key_file=self.audit.key_file)

    def _name_digest(self, name: object) -> str:
        text = name[:4 * MAX_NAME_LENGTH] if isinstance(name, str) else repr(type(name))
        digest = hmac.new(self.store.name_key(), text.encode("utf-8", "replace"),
                          hashlib.sha256)
        return digest.hexdigest()[:16]

    # -- administration (admins only) -------------------------------------------------------

    def add_user(self, by: User, name: str, role: str, password: str) -> Account:
        def add() -> Account:
            return self.store.add(name, role, password)

        account = self._as_admin(by, "add", name, add)
        self._changed(by, "add", name, before=None,
                      after={"role": account.role, "disabled": False})
        return account

    def set_role(self, by: User, name: str, role: str) -> Account:
        previous = self._as_admin(by, "set_role", name, lambda: self.store.set_role(name, role))
        account = self.store.get(name)
        self._changed(by, "set_role", name, before={"role": previous},
                      after={"role": role})
        return account

    def set_password(self, by: User, name: str, password: str) -> None:
        self._as_admin(by, "set_password", name, lambda: self.store.set_password(name, password))
        # Only the fact of the change: not the password, not its hash.
        self._changed(by, "set_password", name, before=None, after=None)

    def disable(self, by: User, name: str) -> Account:
        was = self._as_admin(by, "disable", name, lambda: self.store.disable(name))
        account = self.store.get(name)
        self._changed(by, "disable", name, before={"role": account.role, "disabled": was},
                      after={"role": account.role, "disabled": True})
        return account

    def enable(self, by: User, name: str) -> Account:
        was = self._as_admin(by, "enable", name, lambda: self.store.enable(name))
        account = self.store.get(name)
        self._changed(by, "enable", name, before={"role": account.role, "disabled": was},
                      after={"role": account.role, "disabled": False})
        return account

    def list_users(self, by: User) -> list[Account]:
        if not can(by.role, "manage_users"):
            raise AdminRequiredError(by, "list users")
        return self.store.list()

    # -- helpers ----------------------------------------------------------------------------

    def _as_admin(self, by: User, operation: str, target: str, change: Callable[[], T]) -> T:
        if self.read_only and operation != "list_users":
            self.audit.append(by.name, by.role, "user_change", {
                "operation": operation, "target": str(target)[:_LOGGED_NAME_CHARS],
                "outcome": "refused: read-only"})
            raise CopilotError(f"user accounts cannot be changed here: {self.read_only}")
        if not can(by.role, "manage_users"):
            # A refused attempt is evidence too: an inspector asks who tried what.
            self.audit.append(by.name, by.role, "user_change", {
                "operation": operation, "target": str(target)[:_LOGGED_NAME_CHARS],
                "outcome": "denied"})
            raise AdminRequiredError(by, f"{operation.replace('_', ' ')} for {target!r}")
        return change()

    def _changed(self, by: User, operation: str, target: str, *, before: Any,
                 after: Any) -> None:
        self.audit.append(by.name, by.role, "user_change", {
            "operation": operation, "target": target, "outcome": "done",
            "before": before, "after": after})
