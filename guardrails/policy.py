"""GMP site policy: requests the copilot refuses or routes to a person.

The policy is data (`policy.yaml`): intents such as back-dating a record or bypassing an
interlock, each with an action (refuse | human_review), the reason, whom to ask, rule patterns
and exemplar requests. A request matches an intent when a rule matches, or when its embedding
is close to one of the intent's exemplars and closer to it than to every near-miss question
that must be answered ("who approves batch release?"). The embedding function is injected, as
in the injection detector; without one, only the rules decide.

Who asks matters: an intent may give some roles their own action, reason or contact (a trainer
may ask whether a colleague is current on an SOP; only QA gets a batch-release request routed
to the QP rather than refused). `check(text, role)` applies the asking role's entry; without a
role the intent's own action applies, as it always did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import numpy as np

from ._patterns import compile_patterns, load_yaml, sentences, string_list
from .errors import RuleFileError, UnknownRoleError
from .users import ROLES

Embed = Callable[[list[str]], np.ndarray]
Action = Literal["answer", "refuse", "human_review"]
DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")
# When several intents match by rule, the stricter action wins.
_STRICTNESS = {"refuse": 2, "human_review": 1, "answer": 0}
_ROLE_KEYS = ("action", "why", "contact")


@dataclass(frozen=True)
class RoleOutcome:
    """What an intent means for one role; None keeps the intent's own value."""
    action: Action | None = None
    why: str | None = None
    contact: str | None = None


@dataclass(frozen=True)
class Intent:
    id: str
    action: Action
    why: str
    contact: str
    exemplars: tuple[str, ...]
    rules: tuple[str, ...]
    roles: Mapping[str, RoleOutcome] = field(default_factory=dict)
    allowed_note: str = ""  # for a role allowed to ask: where the answer is kept, if elsewhere

    def outcome(self, role: str | None) -> tuple[Action, str, str]:
        """(action, why, contact) for a request by this role; the intent's own for None or
        for a role the intent does not list."""
        entry = self.roles.get(role) if role else None
        if entry is None:
            return self.action, self.why, self.contact
        return (entry.action or self.action, entry.why or self.why,
                entry.contact or self.contact)


@dataclass(frozen=True)
class PolicyVerdict:
    action: Action
    rule: str | None = None  # the intent's id (also when the role may ask: see allowed_for_role)
    reason: str = ""
    contact: str = ""
    score: float = 0.0  # similarity to the intent's nearest exemplar; 1.0 for a rule match
    matched_by: str = ""  # "rule" | "similarity" | ""
    role: str | None = None  # the asking role the verdict considered; None: no role given
    # The request matched `rule`, whose refusal or routing this role's entry lifts ("answer").
    allowed_for_role: bool = False
    note: str = ""  # the intent's allowed_note, for an allowed role

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
        self.intents = [Intent(i["id"], _action(path, i["id"], i["action"]),
                               " ".join(i["why"].split()), i["contact"],
                               tuple(string_list(path, i, "exemplars")),
                               tuple(string_list(path, i, "rules")),
                               _role_outcomes(path, i),
                               " ".join(str(i.get("allowed_note") or "").split()))
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

    def check(self, text: str, role: str | None = None) -> PolicyVerdict:
        """The verdict on a request by `role` (one of ROLES; None: no role known, every
        intent's own action applies)."""
        if role is not None and role not in ROLES:
            raise UnknownRoleError(str(role), ROLES)
        by_rule = [i for i in self.intents if any(p.search(text) for p in self._rules[i.id])]
        if by_rule:
            # When several intents match, the stricter action for this role wins.
            chosen = max((self._verdict(i, 1.0, "rule", role) for i in by_rule),
                         key=lambda v: _STRICTNESS[v.action])
            if chosen.action != "answer":
                return chosen
            # Every intent the rules named is allowed for this role. The request may still be
            # another intent no rule names ("change his quiz score to a pass" from a trainer),
            # so similarity gets its say; only a different, not-allowed intent overrides.
            similar = self._by_similarity(text, role)
            return similar if similar.action != "answer" else chosen
        return self._by_similarity(text, role)

    def _by_similarity(self, text: str, role: str | None) -> PolicyVerdict:
        if self.embed is None or not text.strip():
            return replace(ANSWER, role=role)
        intent, similarity = self._nearest_intent(text)
        if intent is None:
            return PolicyVerdict("answer", score=round(similarity, 4), role=role)
        return self._verdict(intent, similarity, "similarity", role)

    def _verdict(self, intent: Intent, score: float, matched_by: str,
                 role: str | None) -> PolicyVerdict:
        action, why, contact = intent.outcome(role)
        allowed = action == "answer"
        return PolicyVerdict(action, intent.id, why, "" if allowed else contact,
                             round(score, 4), matched_by, role, allowed,
                             intent.allowed_note if allowed else "")

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


def _action(path: Path, where: str, value: object) -> Action:
    if value not in _STRICTNESS:
        raise RuleFileError(path, f"{where}: action {value!r} is not one of "
                                  f"{', '.join(_STRICTNESS)}")
    return value  # type: ignore[return-value]


def _role_outcomes(path: Path, intent: dict) -> dict[str, RoleOutcome]:
    """An intent's `roles:` mapping, role -> action, or role -> {action, why, contact}."""
    entries = intent.get("roles") or {}
    if not isinstance(entries, dict):
        raise RuleFileError(path, f"{intent['id']}: roles must map a role to an action or to "
                                  f"{{{', '.join(_ROLE_KEYS)}}}")
    outcomes = {}
    for role, entry in entries.items():
        where = f"{intent['id']}.roles.{role}"
        if role not in ROLES:
            raise RuleFileError(path, f"{where}: unknown role {role!r}; roles: "
                                      f"{', '.join(ROLES)}")
        if isinstance(entry, str):
            entry = {"action": entry}
        if not isinstance(entry, dict) or set(entry) - set(_ROLE_KEYS) or not entry:
            raise RuleFileError(path, f"{where}: expected an action or a mapping with "
                                      f"{', '.join(_ROLE_KEYS)}, got {entry!r}")
        action = _action(path, where, entry["action"]) if "action" in entry else None
        why = " ".join(str(entry["why"]).split()) if entry.get("why") else None
        outcomes[role] = RoleOutcome(action, why, entry.get("contact"))
    return outcomes


def refusal_message(verdict: PolicyVerdict) -> str:
    """What the user reads instead of an answer: why, and whom to ask. Empty for "answer"."""
    if verdict.action == "refuse":
        return (f"I can't help with this request. {verdict.reason} "
                f"Please speak to {verdict.contact}.")
    if verdict.action == "human_review":
        return (f"This needs a decision by a person, not the copilot. {verdict.reason} "
                f"Please contact {verdict.contact}.")
    return ""
