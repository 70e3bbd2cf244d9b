"""A part that the composition root (copilot.build) chooses now and that is built on first use.

The chat model, the PII models and the guards' exemplar vectors take seconds and memory to
load; ingest and search never need the chat model, and a CLI command that only lists accounts
needs none of them. `Lazy(factory)` runs `factory` once, on the first `get()`, also when several
UI threads ask at the same moment; `Lazy.of(part)` holds a part that is already built (a test's
fake, a caller's own).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_UNSET = object()


class Lazy(Generic[T]):
    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._value: object = _UNSET
        self._lock = threading.Lock()

    @classmethod
    def of(cls, value: T) -> Lazy[T]:
        """A part that is already built."""
        part: Lazy[T] = cls(lambda: value)
        part._value = value
        return part

    @property
    def loaded(self) -> bool:
        return self._value is not _UNSET

    def get(self) -> T:
        if self._value is _UNSET:
            with self._lock:
                if self._value is _UNSET:
                    self._value = self._factory()
        return self._value  # type: ignore[return-value]


def part(value: T | Lazy[T]) -> Lazy[T]:
    """`value` as a Lazy part (a built part is wrapped as it is)."""
    return value if isinstance(value, Lazy) else Lazy.of(value)


__all__ = ["Lazy", "part"]
