"""Input bounds: how long a free-text field may be, checked before anything reads it.

Every later step walks the text: PII scrubbing, the injection and policy rules, the follow-up
and code regexes, the embedder. Even at linear cost a megabyte question froze the server for
every user (review F7: 40 KB took 9 s before the old length check was reached), so a handler
calls `bounded_text` first, on the raw value, and only then hands it on. The check is `len()`
and nothing else, so it costs nothing whatever arrives.

The limits are the product's, in one place; `copilot/pipeline.py` applies the same ones to
the cleaned text.
"""

from __future__ import annotations

from .errors import GuardrailError

MAX_QUESTION_CHARS = 2000  # as validate_question in copilot/pipeline.py, after collapsing
# A question is bounded again after its whitespace is collapsed, so the raw value may be
# longer; four times the limit, as validate_question's own first check.
MAX_RAW_QUESTION_CHARS = 4 * MAX_QUESTION_CHARS
MAX_QUERY_CHARS = 2000  # a search query: a question's length
MAX_DESCRIPTION_CHARS = 4000  # a deviation description: a paragraph or two
MAX_COMMENT_CHARS = 2000  # a feedback comment
MAX_LOGIN_NAME_CHARS = 64  # as guardrails.user_store.MAX_NAME_LENGTH
MAX_PASSWORD_CHARS = 1024  # as guardrails.passwords.MAX_PASSWORD_LENGTH


class InvalidInputError(GuardrailError, ValueError):
    """A free-text field that is not text, or over its limit. Also a ValueError: bad input.
    The message names the field and never repeats its value (it may be a password)."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)


class InputTooLongError(InvalidInputError):
    def __init__(self, name: str, length: int, limit: int) -> None:
        self.length, self.limit = length, limit
        super().__init__(name, f"the {name} is {length} characters long; the limit is {limit}")


def bounded_text(value: object, name: str, max_chars: int) -> str:
    """`value` itself when it is a str of at most `max_chars` characters; otherwise raises
    `InvalidInputError` (`InputTooLongError` for the length) naming the field `name`.

    Pure and O(1): it neither strips nor normalises, so the caller's own validation (empty
    text, whitespace, wording) still runs, on a value now known to be small."""
    if not isinstance(value, str):
        raise InvalidInputError(name, f"the {name} must be text, got {type(value).__name__}")
    if len(value) > max_chars:
        raise InputTooLongError(name, len(value), max_chars)
    return value
