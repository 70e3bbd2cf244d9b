"""Users and roles. Stored accounts and login come with the guardrails issue; the demo user
stands in for them only in explicit demo mode."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UnknownRoleError

# Kept in step with knowledge.ROLES by a test (the packages may not import each other).
ROLES = ("operator", "supervisor", "qa", "trainer", "admin")


@dataclass(frozen=True)
class User:
    name: str
    role: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise UnknownRoleError(self.role, ROLES)


def demo_user(role: str = "operator") -> User:
    return User(name=f"demo-{role}", role=role)
