"""GMP site policy: requests the copilot refuses or routes to a person.

The policy is data (`policy.yaml`): intents such as back-dating a record or bypassing an
interlock, each with an action (refuse | human_review), the reason, whom to ask, rule patterns
and exemplar requests. A request matches an intent when a rule matches, or when its embedding
is close to one of the intent's exemplars and closer to it than to every near-miss question
that must be answered ("who approves batch release?"). The embedding function is injected, as
in the injection detector; without one, only the rules decide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from ._patterns import compile_patterns, load_yaml, sentences, string_list

Embed = Callable[[list[str]], np.ndarray]
Action = Literal["answer", "refuse", "human_review"]
DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")
# When several intents match by rule, the stricter action wins.
_STRICTNESS = {"refuse": 2, "human_review": 1, "answer": 0}


@dataclass(frozen=True)
class Intent:
    id: str
    action: Action
    why: str
    contact: str
    exemplars: tuple[str, ...]
    rules: tuple[str, ...]


@dataclass(frozen=True)
class PolicyVerdict:
    action: Action
    rule: str | None = None  # the intent's id
    reason: str = ""
    contact: str = ""
    score: float = 0.0  # similarity to the intent's nearest exemplar; 1.0 for a rule match
    matched_by: str = ""  # "rule" | "similarity" | ""

    def to_dict(self) -> dict:
        return asdict(self)


ANSWER = PolicyVerdict("answer")


class PolicyChecker:
    def __init__(self, policy_path: Path | str | None = None, embed: Embed | None = None,
                 threshold: float | None = None, margin: float | None = None) -> None:
        path = Path(policy_path) if policy_path else DEFAULT_POLICY
        config = load_yaml(path)
        similarity = config.get("similarity", {})
        self.threshold = float(threshold if threshold is not None
                               else similarity.get("threshold", 0.6))
        self.margin = float(margin if margin is not None else similarity.get("margin", 0.04))
        self.intents = [Intent(i["id"], i["action"], " ".join(i["why"].split()), i["contact"],
                               tuple(string_list(path, i, "exemplars")),
                               tuple(string_list(path, i, "rules")))
                        for i in config["intents"]]
        macros = config.get("macros", {})
        self._rules = {intent.id: list(compile_patterns(
            {f"{intent.id}#{n}": p for n, p in enumerate(intent.rules)}, macros).values())
            for intent in self.intents}
        self.embed = embed
        self._answer_texts = string_list(path, config, "answer_exemplars")
        self._exemplar_intent: list[int] = []
        self._exemplars: np.ndarray | None = None
        self._answers: np.ndarray | None = None

    def intent(self, intent_id: str) -> Intent:
        return next(i for i in self.intents if i.id == intent_id)

    def check(self, text: str) -> PolicyVerdict:
        by_rule = [i for i in self.intents if any(p.search(text) for p in self._rules[i.id])]
        if by_rule:
            chosen = max(by_rule, key=lambda i: _STRICTNESS[i.action])
            return self._verdict(chosen, 1.0, "rule")
        if self.embed is None or not text.strip():
            return ANSWER
        intent, similarity = self._nearest_intent(text)
        if intent is None:
            return PolicyVerdict("answer", score=round(similarity, 4))
        return self._verdict(intent, similarity, "similarity")

    def _verdict(self, intent: Intent, score: float, matched_by: str) -> PolicyVerdict:
        return PolicyVerdict(intent.action, intent.id, intent.why, intent.contact,
                             round(score, 4), matched_by)

    def _nearest_intent(self, text: str) -> tuple[Intent | None, float]:
        """The intent whose exemplar is nearest to the text or one of its sentences, if that
        is above the threshold and beats every near-miss by the margin."""
        self._load_exemplars()
        assert self._exemplars is not None and self._answers is not None
        parts = sentences(text)
        parts = [text] + parts if len(parts) > 1 else [text]
        vectors = np.asarray(self.embed(parts), dtype=np.float32)  # type: ignore[misc]
        to_intents = vectors @ self._exemplars.T  # rows are unit length: dot = cosine
        to_answers = (vectors @ self._answers.T).max(axis=1) if len(self._answers) \
            else np.zeros(len(parts))
        best_per_part = to_intents.max(axis=1)
        row = int(np.argmax(best_per_part - to_answers))
        best = float(best_per_part[row])
        if best < self.threshold or best - float(to_answers[row]) < self.margin:
            return None, best
        return self.intents[self._exemplar_intent[int(to_intents[row].argmax())]], best

    def _load_exemplars(self) -> None:
        if self._exemplars is not None:
            return
        texts = []
        for index, intent in enumerate(self.intents):
            texts.extend(intent.exemplars)
            self._exemplar_intent.extend([index] * len(intent.exemplars))
        self._exemplars = np.asarray(self.embed(texts), dtype=np.float32)  # type: ignore[misc]
        self._answers = np.asarray(self.embed(self._answer_texts), dtype=np.float32) \
            if self._answer_texts else np.zeros((0, self._exemplars.shape[1]), np.float32)  # type: ignore[misc]


def refusal_message(verdict: PolicyVerdict) -> str:
    """What the user reads instead of an answer: why, and whom to ask. Empty for "answer"."""
    if verdict.action == "refuse":
        return (f"I can't help with this request. {verdict.reason} "
                f"Please speak to {verdict.contact}.")
    if verdict.action == "human_review":
        return (f"This needs a decision by a person, not the copilot. {verdict.reason} "
                f"Please contact {verdict.contact}.")
    return ""
