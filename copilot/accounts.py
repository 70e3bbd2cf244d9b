"""Login and user administration, with every outcome written to the audit trail.

`guardrails.UserStore` keeps the accounts; this layer decides who may change them (admins
only) and records each login, failed login and change (21 CFR 11.10(d) limits access to
authorised individuals; 11.10(e) wants the changes in the trail). Passwords never reach the
trail, in any form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from guardrails import Account, AuditSink, AuthenticationError, User, UserStore

from .errors import CopilotError

T = TypeVar("T")
# Stored names are at most 64 characters; a longer "name" at the login prompt is more likely
# a password typed into the wrong field, so the trail keeps only its start.
_LOGGED_NAME_CHARS = 64


class AdminRequiredError(CopilotError):
    """A user who is not an admin tried to change or list user accounts."""

    def __init__(self, user: User, action: str) -> None:
        self.user = user
        self.action = action
        super().__init__(f"user {user.name!r} (role {user.role}) may not {action}: "
                         f"only an admin may change user accounts")


class Accounts:
    def __init__(self, store: UserStore, audit: AuditSink) -> None:
        self.store = store
        self.audit = audit

    # -- login ------------------------------------------------------------------------------

    def login(self, name: str, password: str) -> User:
        """The user for a correct name and password; `AuthenticationError` otherwise, with
        the same message whatever went wrong. Both outcomes are audited."""
        try:
            user = self.store.authenticate(name, password)
        except AuthenticationError as exc:
            logged = name[:_LOGGED_NAME_CHARS] if isinstance(name, str) else repr(name)[:64]
            self.audit.append(logged, "none", "login_failed", {"reason": exc.reason})
            raise
        self.audit.append(user.name, user.role, "login", {})
        return user

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
        if by.role != "admin":
            raise AdminRequiredError(by, "list users")
        return self.store.list()

    # -- helpers ----------------------------------------------------------------------------

    def _as_admin(self, by: User, operation: str, target: str, change: Callable[[], T]) -> T:
        if by.role != "admin":
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
