"""A scripted chat backend for unit tests of orchestration (as httpx ships `MockTransport`).

It replies with the texts it was given, one per call, in word-sized pieces, honours stop
sequences like a real model, and keeps every prompt it saw. Never a default: nothing builds it
from settings.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence

from .base import ChatBackend


class ScriptedBackend(ChatBackend):
    def __init__(self, replies: Iterable[str] = (), *, name: str = "scripted",
                 context: int = 4096, in_process: bool = False) -> None:
        super().__init__(name, context, in_process=in_process)
        self._replies = list(replies)
        self._replies_lock = threading.Lock()
        self.prompts: list[tuple[str, str]] = []  # (system, user) per call, in order

    def stream(self, system: str, user: str, stop: Sequence[str]) -> Iterator[str]:
        with self._replies_lock:
            self.prompts.append((system, user))
            if not self._replies:
                raise AssertionError(f"ScriptedBackend {self.name!r} has no reply left for "
                                     f"call {len(self.prompts)}")
            reply = self._replies.pop(0)
        cut = min((reply.find(s) for s in stop if s and s in reply), default=len(reply))
        yield from re.findall(r"\S+\s*|\s+", reply[:cut])


__all__ = ["ScriptedBackend"]
