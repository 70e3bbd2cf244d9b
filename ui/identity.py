"""Who is asking: the logged-in account (resolved again on every event, so a role change or a
disabled account takes effect at once), or in explicit demo mode the role picked on screen.

Hiding a tab is only cosmetic; every handler calls `require` before it does anything, and a
refusal there is audited ("access_denied"): an inspector asks who tried what.
"""

from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from pathlib import Path
from types import FrameType

import anyio
from starlette.middleware import Middleware

from copilot import AccessDeniedError, Copilot
from guardrails import AuditError, User, demo_user, roles_with

from .sessions import Sessions

# Which tabs each role sees, read from the one permissions table (guardrails.permissions);
# handlers enforce the same sets, and the API and services check the table again.
TAB_ROLES = {
    "ask": roles_with("ask"),
    "deviations": roles_with("use_similar_deviations"),
    "check": roles_with("check_text"),
    "training": roles_with("train"),
    "trainer": roles_with("build_modules"),
    "admin": roles_with("manage_users"),
}
log = logging.getLogger(__name__)
_TARGET_CHARS = 200
# The network address of the HTTP request being served, for the login check (see below).
_client_address: ContextVar[str | None] = ContextVar("client_address", default=None)


class Identity:
    def __init__(self, copilot: Copilot, demo_mode: bool) -> None:
        self.copilot = copilot
        self.demo_mode = demo_mode
        settings = copilot.settings
        self.sessions = Sessions(settings.session_idle_minutes * 60,
                                 settings.session_max_hours * 3600)

    def user(self, request, demo_role: str | None) -> User:
        if self.demo_mode:
            return demo_user(demo_role or "operator")
        name = getattr(request, "username", None) if request is not None else None
        if not name:
            raise AccessDeniedError("not logged in")
        self.sessions.check(request)
        return self.copilot.account_user(name)

    def require(self, request, demo_role: str | None, tab: str, *,
                target: str | None = None) -> User:
        """The user, if their role may use `tab`; otherwise the refusal is audited (user,
        role, tab, the handler that asked and `target`, what it was asked about) and
        `AccessDeniedError` raised."""
        user = self.user(request, demo_role)
        if user.role not in TAB_ROLES[tab]:
            details = {"tab": tab, "handler": _handler(), "outcome": "denied"}
            if target is not None:
                details["target"] = str(target)[:_TARGET_CHARS]
            try:
                self.copilot.audit.append(user.name, user.role, "access_denied", details)
            except AuditError as exc:  # still refused; the trail's own error is logged
                log.error("denied %s for %s not audited: %s", tab, user.name, exc)
            raise AccessDeniedError(f"role {user.role!r} may not use {tab}")
        return user

    # -- login (Gradio's login form) --------------------------------------------------------

    def launch_options(self) -> dict:
        """`launch()` arguments for the login: none in demo mode. Gradio calls `auth` with
        only the name and password; the middleware gives it the client's address too."""
        if self.demo_mode:
            return {"auth": None}
        return {"auth": self.check_login,
                "app_kwargs": {"middleware": [Middleware(ClientAddressMiddleware)]}}

    async def check_login(self, name: str, password: str) -> bool:
        """Every attempt is throttled and checked by `Accounts.login`, which audits it.

        Async, so that Gradio awaits it (gradio/routes.py `login`) instead of calling it
        on the event loop: the scrypt check and the store and audit writes run in a worker
        thread, and one slow login no longer stalls every other request."""
        client = _client_address.get()
        return await anyio.to_thread.run_sync(self._login, name, password, client)

    def _login(self, name: str, password: str, client: str | None) -> bool:
        try:
            self.copilot.accounts.login(name, password, client)
        except Exception:  # noqa: BLE001 - any failure is a refused login, already audited
            return False
        return True


class ClientAddressMiddleware:
    """Makes each HTTP request's client address available to `check_login` (plain ASGI,
    so the value is set in the same context the login route runs in).

    Uvicorn has already put the X-Forwarded-For address there when the peer is a trusted
    proxy (its FORWARDED_ALLOW_IPS, by default loopback only), so a TLS proxy on the same
    host still gives the real client's address."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        token = _client_address.set(client[0] if client else None)
        try:
            await self.app(scope, receive, send)
        finally:
            _client_address.reset(token)


def _handler() -> str:
    """The UI functions that called `require`, innermost last: e.g. "export_csv > admin".

    Gradio tells a handler nothing about the event that called it, and the handlers belong
    to the tabs; their names are what identifies the endpoint in the audit record."""
    here = Path(__file__).resolve().parent
    frame: FrameType | None = sys._getframe(2)
    names: list[str] = []
    while frame is not None and len(names) < 2:
        if Path(frame.f_code.co_filename).resolve().parent == here:
            names.append(frame.f_code.co_name)
        frame = frame.f_back
    return " > ".join(reversed(names))
