"""Typed errors of the guardrails."""

from __future__ import annotations

from pathlib import Path


class GuardrailError(Exception):
    """Base class for every error raised by `guardrails`."""


class UnknownRoleError(GuardrailError):
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
