"""Follow-up questions made standalone, without asking a model.

"And if it happens again?" after "AC-02 stopped with alarm E-22" is searched as
"AC-02 E-22 alarm stopped — and if it happens again?". A follow-up is recognised by what it
lacks (no code of its own and few content words) or by how it starts ("and", "what if",
pronouns); the codes and content words of the conversation's last standalone question carry
over. Deterministic and model-independent, so a tiny model cannot derail retrieval.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from knowledge import codes_in

from .grounding import content_words

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|but|also|then|so|what about|how about|what if|and if|if so|why|it|this|that|"
    r"they|those|these|same)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(it|this|that|they|them|those|these|again|there)\b", re.IGNORECASE)


def is_follow_up(message: str) -> bool:
    if codes_in(message):
        return False
    words = content_words(message)
    return bool(_FOLLOW_UP_START.search(message)) or (len(words) <= 3 and bool(
        _PRONOUN.search(message)))


def standalone(message: str, previous: str | None) -> str:
    """The message as a self-contained query, given the previous standalone question."""
    if not previous or not is_follow_up(message):
        return message
    carried = sorted(codes_in(previous)) + sorted(
        w for w in content_words(previous) if w.upper() not in codes_in(previous))
    return f"{' '.join(carried)} — {message.strip()}"


@dataclass
class Conversation:
    id: str
    turns: list[tuple[str, str]] = field(default_factory=list)  # (standalone question, answer)

    @property
    def last_question(self) -> str | None:
        return self.turns[-1][0] if self.turns else None


class Conversations:
    """In-memory conversations, safe across UI threads, bounded: a long-running server sees
    a new conversation id per browser tab and "New conversation", so the least recently used
    ones are dropped beyond `max_conversations` (a dropped one only loses its follow-up
    context)."""

    def __init__(self, max_turns: int = 20, max_conversations: int = 1000) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self.max_turns = max_turns
        self.max_conversations = max_conversations

    def _touch(self, conversation_id: str) -> Conversation:
        conversation = self._items.pop(conversation_id, None) or Conversation(conversation_id)
        self._items[conversation_id] = conversation
        while len(self._items) > self.max_conversations:
            self._items.popitem(last=False)
        return conversation

    def get(self, conversation_id: str) -> Conversation:
        with self._lock:
            return self._touch(conversation_id)

    def record(self, conversation_id: str, question: str, answer: str) -> None:
        with self._lock:
            conversation = self._touch(conversation_id)
            conversation.turns = (conversation.turns + [(question, answer)])[-self.max_turns:]

    def __len__(self) -> int:
        return len(self._items)

    def reset(self, conversation_id: str) -> None:
        with self._lock:
            self._items.pop(conversation_id, None)
