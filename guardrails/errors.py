"""Typed errors of the guardrails."""

from __future__ import annotations

from pathlib import Path


class GuardrailError(Exception):
    """Base class for every error raised by `guardrails`."""


class UnknownRoleError(GuardrailError, ValueError):
    """A role the product does not have (also a ValueError: it is bad input)."""

    def __init__(self, role: str, roles: tuple[str, ...]) -> None:
        self.role = role
        super().__init__(f"unknown role {role!r}; roles: {', '.join(roles)}")


class AuditError(GuardrailError):
    """The audit trail refused a record, or could not be written or read.

    Tampering found by `AuditTrail.verify()` is not an error: it is reported in the result.
    """

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"audit trail {path}: {reason}")


class AuditBusyError(AuditError):
    """Other writers held the audit database's lock for longer than the timeout."""

    def __init__(self, path: Path, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(path, f"database stayed locked by other writers for more than "
                               f"{timeout:g} s")


class AccountError(GuardrailError):
    """A user account could not be created, changed or read."""


class InvalidUserNameError(AccountError):
    def __init__(self, name: object, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(f"invalid user name {name!r}: {reason}")


class WeakPasswordError(AccountError):
    def __init__(self, reason: str) -> None:
        self.reason = reason  # never the password itself
        super().__init__(f"password refused: {reason}")


class UserExistsError(AccountError):
    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"user {name!r} already exists")


class UnknownUserError(AccountError):
    """Raised by administrative calls only; login never says whether a name exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"no user named {name!r}")


class AuthenticationError(AccountError):
    """Login refused. The message is the same for an unknown name, a wrong password and a
    disabled account, so that it does not tell a guesser which names exist; `reason` is for
    the audit trail only ("unknown_user", "wrong_password" or "disabled")."""

    MESSAGE = "unknown user name or wrong password, or the account is disabled"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(self.MESSAGE)


class AccountStoreError(AccountError):
    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"user store {path}: {reason}")


class RuleFileError(GuardrailError):
    """A guardrail rule file (injection.yaml, policy.yaml) is missing, unreadable or malformed."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"rule file {path}: {reason}")
