"""Idle timeout and absolute lifetime for the UI's login sessions (security review F18).

Gradio (6.31) keeps every login token in `app.tokens` until a logout or a restart: no expiry,
no idle timeout, and no hook to add one. But every event handler resolves its user through
`Identity.user`, which hands the event's request to `Sessions.check`. That times each token
from the first time it is seen and deletes an expired one from `app.tokens`; from then on
Gradio itself refuses the cookie (the page shows the login form, the API answers 401).

Limits: a token is timed from the first event (or sweep) that sees it, normally the page
load right after the login; and a session that sends no event at all is only found by the
sweep that any other user's event triggers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from copilot import AccessDeniedError

# One message for expired, swept and unknown tokens: all mean "log in again".
ENDED = "your session has ended (idle too long, or too old): log in again"


class Sessions:
    def __init__(self, idle_seconds: float, lifetime_seconds: float, *,
                 clock: Callable[[], float] = time.monotonic, sweep_every: float = 60.0) -> None:
        self.idle = idle_seconds  # 0: no idle timeout
        self.lifetime = lifetime_seconds  # 0: no absolute lifetime
        self.clock = clock
        self.sweep_every = sweep_every
        self._seen: dict[str, tuple[float, float]] = {}  # token -> (first seen, last seen)
        self._last_sweep = float("-inf")
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.idle > 0 or self.lifetime > 0

    def check(self, request) -> None:
        """Refuse (`AccessDeniedError`) an event whose login token has expired, and note it
        as active otherwise."""
        if not self.enabled:
            return
        app, token = _app_and_token(request)
        if app is None or token is None or app.tokens.get(token) != request.username:
            # Swept meanwhile, or a login we cannot see: fail closed rather than never expire.
            raise AccessDeniedError(ENDED)
        now = self.clock()
        with self._lock:
            if now - self._last_sweep >= self.sweep_every:
                self._sweep(app.tokens, now)
                if token not in app.tokens:  # this very session was swept
                    raise AccessDeniedError(ENDED)
            first, last = self._seen.get(token, (now, now))
            if self._expired(first, last, now):
                self._seen.pop(token, None)
                app.tokens.pop(token, None)
                raise AccessDeniedError(ENDED)
            self._seen[token] = (first, now)

    def _expired(self, first: float, last: float, now: float) -> bool:
        return ((self.idle > 0 and now - last > self.idle)
                or (self.lifetime > 0 and now - first > self.lifetime))

    def _sweep(self, tokens: dict[str, Any], now: float) -> None:
        # Times tokens no event has shown yet, ends expired ones, forgets logged-out ones.
        self._last_sweep = now
        for token in list(tokens):
            first, last = self._seen.setdefault(token, (now, now))
            if self._expired(first, last, now):
                tokens.pop(token, None)
        for token in [t for t in self._seen if t not in tokens]:
            del self._seen[token]


def _app_and_token(request: Any) -> tuple[Any, str | None]:
    """Gradio's app and the login token of the event's HTTP request (its login cookie)."""
    raw: Any = getattr(request, "request", None)  # gr.Request wraps the Starlette request
    app = getattr(raw, "app", None) if raw is not None else None
    cookie_id = getattr(app, "cookie_id", None)
    if cookie_id is None or not isinstance(getattr(app, "tokens", None), dict):
        return None, None
    cookies = raw.cookies
    return app, (cookies.get(f"access-token-{cookie_id}")
                 or cookies.get(f"access-token-unsecure-{cookie_id}"))


__all__ = ["ENDED", "Sessions"]
