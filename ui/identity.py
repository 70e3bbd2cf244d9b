"""Who is asking: the logged-in account (resolved again on every event, so a role change or a
disabled account takes effect at once), or in explicit demo mode the role picked on screen.

Hiding a tab is only cosmetic; every handler calls `require` before it does anything.
"""

from __future__ import annotations

from copilot import AccessDeniedError, Copilot
from guardrails import ROLES, User, demo_user

ALL = ROLES
# Which tabs each role sees; handlers enforce the same sets.
TAB_ROLES = {
    "ask": ALL,
    "deviations": ("supervisor", "qa", "admin"),
    "training": ALL,
    "trainer": ("trainer", "qa", "admin"),
    "admin": ("admin",),
}


class Identity:
    def __init__(self, copilot: Copilot, demo_mode: bool) -> None:
        self.copilot = copilot
        self.demo_mode = demo_mode

    def user(self, request, demo_role: str | None) -> User:
        if self.demo_mode:
            return demo_user(demo_role or "operator")
        name = getattr(request, "username", None) if request is not None else None
        if not name:
            raise AccessDeniedError("not logged in")
        return self.copilot.account_user(name)

    def require(self, request, demo_role: str | None, tab: str) -> User:
        user = self.user(request, demo_role)
        if user.role not in TAB_ROLES[tab]:
            raise AccessDeniedError(f"role {user.role!r} may not use {tab}")
        return user

    def check_login(self, name: str, password: str) -> bool:
        """Gradio's login form: every attempt, good or bad, is written to the audit trail."""
        try:
            self.copilot.accounts.login(name, password)
        except Exception:  # noqa: BLE001 - any failure is a refused login, already audited
            return False
        return True
