"""Typed errors of the copilot layer; messages are made only at the edges (CLI, UI)."""

from __future__ import annotations


class CopilotError(Exception):
    """Base class for every error raised by `copilot`."""


class ModelUnavailableError(CopilotError):
    """A chat model could not be loaded or reached. Never replaced by a fake."""

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = reason
        super().__init__(f"chat model {model!r} is unavailable: {reason}")


class BadQuestionError(CopilotError):
    """The question is empty, too long or otherwise unusable."""


class AccessDeniedError(CopilotError):
    """The user's role may not see this document, or may not do this."""
