"""Login throttling: growing delays after repeated failures, then a lockout.

`Backoff` is the one schedule. After `free` failures in a row (a typo or two costs nothing)
each further attempt must wait `base * 2**(failures - free)` seconds, capped at `cap`, counted
from the latest failure; at `lock_after` failures the key is locked. An attempt refused during
the wait never reaches the password check, and it counts as a failure itself: a script that
keeps hammering locks the account within a second instead of trying a password per delay.

Accounts keep their count in the user store (`UserStore.begin_login`), so a restart or a
second UI process does not reset it. Client addresses and unknown names are counted here, in
memory and bounded: they are transient, and a guesser must not grow any store by inventing
names. Unknown names follow the accounts' schedule, lockout included, so that how fast an
answer comes back does not tell which names exist.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["check", "backoff", "locked"]


@dataclass(frozen=True)
class Backoff:
    free: int = 3  # failures in a row without any delay
    base: float = 1.0  # seconds to wait after the first failure beyond `free`; doubles after each
    cap: float = 900.0
    lock_after: int = 10  # 0: never lock

    def delay(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.cap, self.base * 2.0 ** min(failures - self.free, 62))

    def locks(self, failures: int) -> bool:
        return self.lock_after > 0 and failures >= self.lock_after

    def verdict(self, failures: int, last_failure: float, now: float) -> Verdict:
        if self.locks(failures):
            return "locked"
        if now < last_failure + self.delay(failures):
            return "backoff"
        return "check"


@dataclass(frozen=True)
class Gate:
    """The outcome of claiming one attempt: whether to check the password, and the count of
    failures in a row including this attempt (counted as failed until it succeeds)."""

    verdict: Verdict
    failures: int
    locked_now: bool = False  # this very attempt locked the key


class FailureCounter:
    """Failures in a row per key, in memory: the unknown-name twin of the store's count.

    At most `max_keys` keys; the one that failed least recently is forgotten first."""

    def __init__(self, policy: Backoff, max_keys: int = 10_000) -> None:
        self.policy = policy
        self.max_keys = max_keys
        self._keys: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, key: str, now: float) -> Gate:
        with self._lock:
            failures, last = self._keys.get(key, (0, 0.0))
            verdict = self.policy.verdict(failures, last, now)
            if verdict == "locked":
                return Gate("locked", failures)
            self._keys[key] = (failures + 1, now)
            self._keys.move_to_end(key)
            while len(self._keys) > self.max_keys:
                self._keys.popitem(last=False)
            locked_now = verdict == "backoff" and self.policy.locks(failures + 1)
            return Gate("locked" if locked_now else verdict, failures + 1, locked_now)


class AddressThrottle:
    """Failed password checks per client address within a sliding `window` of seconds.

    Unlike an account, an address is never locked, and only checked passwords count: one
    address may be a shared tablet or a proxy in front of many honest users, and an attempt
    refused without a check costs the server nothing worth limiting."""

    def __init__(self, policy: Backoff, window: float = 900.0, max_keys: int = 10_000) -> None:
        self.policy = policy
        self.window = window
        self.max_keys = max_keys
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, address: str, now: float) -> float:
        """Seconds until `address` may have a password checked again (0: now)."""
        with self._lock:
            times = self._recent(address, now)
            if not times:
                return 0.0
            return max(0.0, times[-1] + self.policy.delay(len(times)) - now)

    def failed(self, address: str, now: float) -> None:
        with self._lock:
            times = self._recent(address, now)
            times.append(now)
            self._failures[address] = times
            self._failures.move_to_end(address)
            while len(self._failures) > self.max_keys:
                self._failures.popitem(last=False)

    def _recent(self, address: str, now: float) -> deque[float]:
        # Bounded: beyond this many failures the delay is at its cap anyway.
        times = self._failures.get(address, deque(maxlen=256))
        while times and times[0] <= now - self.window:
            times.popleft()
        return times


__all__ = ["AddressThrottle", "Backoff", "FailureCounter", "Gate", "Verdict"]
