"""The chat-model seam: what the copilot needs from a model, and nothing more.

A backend streams the reply to one system and one user message, stopping at any of the stop
sequences, as plain text pieces. LangChain (and with it llama.cpp, Ollama, OpenAI-compatible
servers) lives only in the adapter, `LangChainBackend`; `ScriptedBackend` is the fake that ships
with the package for unit tests of orchestration (never a default).
"""

from __future__ import annotations

import abc
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext


class ChatBackend(abc.ABC):
    """A chat model with the name written to answers and audit records."""

    def __init__(self, name: str, context: int, *, in_process: bool = False,
                 tokenizer: Callable[[str], int] | None = None) -> None:
        self.name = name
        self.context = context
        # One in-process model must not generate for two threads at once (the UI serves
        # several sessions); remote servers schedule their own requests.
        self.in_process = in_process
        # Counts tokens as this model does (prompt budgets); None: an estimate from characters.
        self.tokenizer = tokenizer
        self._lock = threading.Lock()

    @abc.abstractmethod
    def stream(self, system: str, user: str, stop: Sequence[str]) -> Iterator[str]:
        """The reply, piece by piece; stops before any of `stop`."""

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is not None:
            return self.tokenizer(text)
        # Remote servers do not expose their tokenizer offline; English technical text runs
        # at 3-4 characters per token, so 3 over-counts a little and keeps prompts in budget.
        return math.ceil(len(text) / 3)

    def load(self) -> None:  # noqa: B027 - nothing to load for most backends
        """Load an in-process model now (a server does, before its first user waits)."""

    def exclusive(self) -> AbstractContextManager:
        """Hold while streaming from the model."""
        return self._lock if self.in_process else nullcontext()

    @contextmanager
    def claimed(self) -> Iterator[bool]:
        """The model if it is free *now*: yields False, without waiting, while the in-process
        model is writing for another question (remote servers schedule their own requests)."""
        if not self.in_process:
            yield True
            return
        if not self._lock.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            self._lock.release()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, context={self.context})"


__all__ = ["ChatBackend"]
