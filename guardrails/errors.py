"""Typed errors of the guardrails."""

from __future__ import annotations


class GuardrailError(Exception):
    """Base class for every error raised by `guardrails`."""


class UnknownRoleError(GuardrailError):
    def __init__(self, role: str, roles: tuple[str, ...]) -> None:
        self.role = role
        super().__init__(f"unknown role {role!r}; roles: {', '.join(roles)}")
