"""GMP site policy: requests the copilot refuses or routes to a person.

The policy is data (`policy.yaml`): intents such as back-dating a record or bypassing an
interlock, each an action on something GMP protects, with an action (refuse | human_review),
the reason, whom to ask, rule patterns and exemplar requests. A request matches an intent when
a rule matches, or when the classifier (`policy_model.py`: logistic regression over the
embedding and the lexicon's action, object and pair features, trained on the exemplars and on
the near-misses that must be answered, "who approves batch release?") gives the intent at least
`classifier.threshold`, for the whole text or one of its sentences. The embedding function is
injected, as in the injection detector; without one, only the rules decide.

Who asks matters: an intent may give some roles their own action, reason or contact (a trainer
may ask whether a colleague is current on an SOP; only QA gets a batch-release request routed
to the QP rather than refused). `check(text, role)` applies the asking role's entry; without a
role the intent's own action applies, as it always did.

How a request is worded matters too (`classifier.legit_frames` / `explicit_frames`, frames of
the lexicon). A text or sentence worded as a question about how a control works or is properly
done ("what's the correct way to correct an entry?", "how is the interlock tested per SOP?") or
as a prohibition ("passwords must not be shared") is refused by the classifier only at
`classifier.framed_threshold`, unless it also names an explicit falsifying act or purpose
("... so it passes", "fake", "without QA knowing"); a prohibition's own words ("do not bypass")
do not count as such an act. A rule that matches inside a prohibition (an SOP sentence "do
not bypass interlocks" pasted into a question) is not a request either
(`classifier.rule_exempt_frames`). A question naming a forbidden act as its topic ("is
back-dating ever allowed?", "what happens if someone skips the leak test?", "how do auditors
detect a forced input?", `classifier.topic_frames`) is framed the same way, and a rule matching
inside the clause it opens is not a request; asked for now ("... today", "for me") it is. A
sentence of a longer message naming no lexicon action only reports what happened; on its own it
refuses only at `classifier.statement_threshold` (the whole message keeps its threshold).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ._patterns import _SENTENCE_END, compile_patterns, load_yaml, sentences, string_list
from .errors import RuleFileError, UnknownRoleError
from .policy_model import ANSWER as ANSWER_CLASS
from .policy_model import IntentClassifier, IntentPairs, Lexicon, fold, saved_extra
from .users import ROLES

Embed = Callable[[list[str]], np.ndarray]
Action = Literal["answer", "refuse", "human_review"]
DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")
# When several intents match by rule, the stricter action wins.
_STRICTNESS = {"refuse": 2, "human_review": 1, "answer": 0}
_WORD = re.compile(r"[^\W\d_]+")  # the words (letters only: "l'allarme" is two) of a text
_ACCENTED = re.compile(r"[äöüßàâæçéèêëîïôœùûÿáíóúñìò¿¡ąćęłńśźżãõ]")  # + pl pt
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
    actions: tuple[str, ...] = ()  # lexicon action groups that make this intent ...
    objects: tuple[str, ...] = ()  # ... with these protected objects

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
    score: float = 0.0  # the classifier's probability that it is not to be answered; 1.0: a rule
    matched_by: str = ""  # "rule" | "classifier" | "lexicon" (another language) | ""
    role: str | None = None  # the asking role the verdict considered; None: no role given
    # The request matched `rule`, whose refusal or routing this role's entry lifts ("answer").
    allowed_for_role: bool = False
    note: str = ""  # the intent's allowed_note, for an allowed role

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


ANSWER = PolicyVerdict("answer")


class PolicyChecker:
    def __init__(self, policy_path: Path | str | None = None, embed: Embed | None = None,
                 threshold: float | None = None) -> None:
        path = Path(policy_path) if policy_path else DEFAULT_POLICY
        config = load_yaml(path)
        settings = config.get("classifier", {})
        self.threshold = float(threshold if threshold is not None
                               else settings.get("threshold", 0.5))
        self.intents = [Intent(i["id"], _action(path, i["id"], i["action"]),
                               " ".join(i["why"].split()), i["contact"],
                               tuple(string_list(path, i, "exemplars")),
                               tuple(string_list(path, i, "rules")),
                               _role_outcomes(path, i),
                               " ".join(str(i.get("allowed_note") or "").split()),
                               tuple(string_list(path, i, "actions")),
                               tuple(string_list(path, i, "objects")))
                        for i in config["intents"]]
        macros = config.get("macros", {})
        # rules, like the lexicon, are matched on folded text (see policy_model.fold)
        macros = {name: fold(str(value)) for name, value in macros.items()}
        self._rules = {intent.id: list(compile_patterns(
            {f"{intent.id}#{n}": fold(p) for n, p in enumerate(intent.rules)}, macros).values())
            for intent in self.intents}
        self.embed = embed
        self.lexicon = Lexicon(path, config.get("lexicon") or {},
                               [IntentPairs(i.id, i.actions, i.objects) for i in self.intents])
        self.framed_threshold = float(settings.get("framed_threshold", self.threshold))
        self.legit_frames = self._frames(path, settings, "legit_frames")
        self.explicit_frames = self._frames(path, settings, "explicit_frames") + \
            self._frames(path, settings, "explicit_actions", self.lexicon.actions, "action")
        self.rule_exempt_frames = self._frames(path, settings, "rule_exempt_frames")
        # A question naming a forbidden act as its topic ("is back-dating ever allowed?", "what
        # happens if someone skips the leak test?", "how do we detect a forced PLC input?"):
        # legitimate like a legit frame, and a rule matching inside the clause it opens (the
        # act's words may come before the frame's last word) is not a request either.
        self.topic_frames = self._frames(path, settings, "topic_frames")
        # the clause such a frame opens, up to the next punctuation
        self._exempt_clauses = [re.compile(f"(?:{p.pattern})[^,;:.!?\n]*", p.flags)
                                for p in self.rule_exempt_frames + self.topic_frames]
        self._topic_clauses = self._exempt_clauses[len(self.rule_exempt_frames):]
        # A sentence of a longer message naming no action of the lexicon reports what happened
        # ("the last two weight checks were not written down") and is refused only at this
        # probability; the whole message is still checked at its own threshold.
        self.statement_threshold = float(settings.get("statement_threshold", self.threshold))
        # Round 4: a text in another language (German, French, Italian, Dutch, Spanish, alone or
        # mixed with English). The embedder is English-only, so there the lexicon (which has the
        # words of those languages) decides: an intent's action within a few words of one of
        # its objects in a sentence not framed as a question about the proper way, a topic or
        # a prohibition is a request for it (matched_by "lexicon"); and the classifier alone
        # refuses a text naming no lexicon action only at statement_threshold.
        other = settings.get("other_languages") or {}
        self.english_words = frozenset(fold(w.lower()) for w in string_list(path, other,
                                                                            "english_words"))
        # folded too ("zeby", "juz", "nao" count as written without their diacritics), less
        # the words folding made English ("à" -> "a")
        self.other_words = frozenset(fold(w.lower()) for w in string_list(path, other, "words")) \
            - self.english_words
        self.other_min_words = int(other.get("min_words", 2))
        # Round 5: the classifier names an intent for a text that mentions none of the
        # intent's protected objects ("can I just turn the force up?" as an interlock bypass,
        # "since when has <PERSON_1> suspended manufacturing?", a firm the scrubber took for a
        # person, as a colleague's training record): it refuses such a text only at
        # object_threshold (by default its ordinary threshold). Intents without objects are
        # never gated.
        self.object_threshold = float(settings.get("object_threshold", 0.0))
        gated = settings.get("object_gate")
        self.object_gate = frozenset(i.id for i in self.intents if i.objects) if gated is None \
            else frozenset(string_list(path, settings, "object_gate"))
        unknown = self.object_gate - {i.id for i in self.intents}
        if unknown:
            raise RuleFileError(path, f"classifier.object_gate: unknown intent(s) "
                                      f"{', '.join(sorted(unknown))}")
        self.classifier = self._classifier(path, config, settings) if embed else None

    def _classifier(self, path: Path, config: dict[str, Any],
                    settings: dict[str, Any]) -> IntentClassifier | None:
        texts: list[str] = []
        labels: list[str] = []
        for intent in self.intents:
            texts.extend(intent.exemplars)
            labels.extend([intent.id] * len(intent.exemplars))
        if not texts:
            return None  # a policy of rules only
        answers = string_list(path, config, "answer_exemplars")
        if not answers:
            raise RuleFileError(path, "intents have exemplars but answer_exemplars is empty: "
                                      "the classifier needs questions that must be answered")
        texts.extend(answers)
        labels.extend([ANSWER_CLASS] * len(answers))
        assert self.embed is not None
        model_path = path.with_suffix(".model.npz")
        # The extra training examples (round 6) come with the fitted weights: the policy's own
        # file, else the bundled one's, of the intents this policy has.
        extra = saved_extra(model_path) or saved_extra(DEFAULT_POLICY.with_suffix(".model.npz"))
        if extra:
            known = set(labels)
            kept = [(t, label) for t, label in zip(*extra) if label in known]
            extra = ([t for t, _ in kept], [label for _, label in kept])
        return IntentClassifier(self.lexicon, texts, labels, self.embed,
                                c=float(settings.get("C", 4.0)),
                                lexicon_weight=float(settings.get("lexicon_weight", 0.5)),
                                similarity_weight=float(settings.get("similarity_weight", 0.0)),
                                model_path=model_path,
                                ngram_weight=float(settings.get("ngram_weight", 0.0)),
                                ngram_dims=int(settings.get("ngram_dims", 4096)),
                                extra=extra)

    def _frames(self, path: Path, settings: dict[str, Any], key: str,
                groups: dict[str, re.Pattern[str]] | None = None,
                kind: str = "frame") -> list[re.Pattern[str]]:
        """The lexicon's patterns (frames, or action groups) that `classifier.<key>` names."""
        groups = self.lexicon.frames if groups is None else groups
        names = string_list(path, settings, key)
        unknown = [n for n in names if n not in groups]
        if unknown:
            raise RuleFileError(path, f"classifier.{key}: unknown lexicon {kind}(s) "
                                      f"{', '.join(unknown)}")
        return [groups[n] for n in names]

    def framed(self, text: str) -> bool:
        """Whether `text` is worded as a question about the proper way or as a prohibition and
        names no explicit falsifying act (the clause a prohibition, a formal request or a quote
        opens is left out for that: its words are the rule's, not a request's)."""
        text = fold(text)
        if not any(p.search(text) for p in self.legit_frames + self.topic_frames):
            return False
        rest = text
        for clause in self._exempt_clauses:  # the clause a prohibition (or a quote) opens
            rest = clause.sub(lambda m: " " * len(m.group(0)), rest)
        return not any(p.search(rest) for p in self.explicit_frames)

    def part_threshold(self, text: str, sentence: bool = False) -> float:
        """The probability the classifier needs to refuse this text (or, `sentence`, one
        sentence of a longer message: one naming no lexicon action is a statement)."""
        if self.framed(text):
            return self.framed_threshold
        folded = fold(text)  # the raw text for other_language: its accents count
        if (sentence or self.other_language(text)) and \
                not any(p.search(folded) for p in self.lexicon.actions.values()):
            return max(self.threshold, self.statement_threshold)
        return self.threshold

    def objectless_threshold(self, intent_id: str, text: str) -> float:
        """`object_threshold` when the classifier names `intent_id` for a text naming none of
        that intent's lexicon objects (and the intent is gated); 0.0 otherwise."""
        text = fold(text)
        if intent_id not in self.object_gate or not self.object_threshold:
            return 0.0
        intent = self.intent(intent_id)
        if any(self.lexicon.objects[o].search(text) for o in intent.objects):
            return 0.0
        return self.object_threshold

    def other_language(self, text: str) -> bool:
        """Whether `text` is written (at least half) in another language than English: at
        least `other_languages.min_words` of its words are function words of those languages
        or carry their letters (ä, é, ñ ...), and no fewer than its English function words."""
        if not self.other_words:
            return False
        words = _WORD.findall(text.lower())
        other = sum(1 for w in words if fold(w) in self.other_words or _ACCENTED.search(w))
        english = sum(1 for w in words if fold(w) in self.english_words)
        return other >= self.other_min_words and other >= english

    def _by_lexicon(self, text: str, role: str | None) -> PolicyVerdict | None:
        """For a text in another language: the verdict of the first sentence in which an
        intent's action stands near one of its objects (the lexicon's pair), unless that
        sentence is framed (`framed`); None when there is none. Of several intents paired in
        one sentence, the classifier's likeliest; without a classifier, the one with most of
        its object groups in the sentence, then the one with fewest object groups (the most
        specific: "the audit trail entries" is the audit trail's before it is a record's)."""
        if not self.other_language(text):
            return None
        for part in sentences(text) or [text]:
            found = self.lexicon.found(part)
            paired = [self.intent(i) for i in found.get("pair", [])]
            if not paired or self.framed(part):
                continue
            if self.classifier is not None and len(paired) > 1:
                row = self.classifier.probabilities([part])[0]
                classes = self.classifier.classes
                intent = max(paired, key=lambda i: row[classes.index(i.id)]
                             if i.id in classes else -1.0)
            else:
                objects = set(found.get("object", []))
                intent = min(paired, key=lambda i: (-len(objects & set(i.objects)),
                                                    len(i.objects)))
            return self._verdict(intent, 1.0, "lexicon", role)
        return None

    def _in_topic_clause(self, text: str, position: int) -> bool:
        """Whether `position` lies in the clause a topic frame opens."""
        return any(m.start() <= position < m.end() for clause in self._topic_clauses
                   for m in clause.finditer(text))

    def _rule_hits(self, intent: Intent, text: str) -> bool:
        """Whether one of the intent's rules matches `text` outside a prohibition: a match
        whose words a prohibition of its own sentence overlaps ("do not bypass interlocks")
        is the SOP's rule, not a request."""
        text = fold(text)  # the rules are compiled folded; positions are the same
        for pattern in self._rules[intent.id]:
            for match in pattern.finditer(text):
                if self._in_topic_clause(text, match.start()):
                    continue
                if not self.rule_exempt_frames:
                    return True
                start, _ = next(((a, b) for a, b in _sentence_spans(text)
                                 if a <= match.start() < b), (0, len(text)))
                span = text[start:match.end()]
                offset = match.start() - start
                if not any(m.end() > offset for p in self.rule_exempt_frames
                           for m in p.finditer(span)):
                    return True
        return False

    def intent(self, intent_id: str) -> Intent:
        return next(i for i in self.intents if i.id == intent_id)

    def check(self, text: str, role: str | None = None) -> PolicyVerdict:
        """The verdict on a request by `role` (one of ROLES; None: no role known, every
        intent's own action applies)."""
        if role is not None and role not in ROLES:
            raise UnknownRoleError(str(role), ROLES)
        by_rule = [i for i in self.intents if self._rule_hits(i, text)]
        if by_rule:
            # When several intents match, the stricter action for this role wins.
            chosen = max((self._verdict(i, 1.0, "rule", role) for i in by_rule),
                         key=lambda v: _STRICTNESS[v.action])
            if chosen.action != "answer":
                return chosen
            # Every intent the rules named is allowed for this role. The request may still be
            # another intent no rule names ("change his quiz score to a pass" from a trainer),
            # so the classifier gets its say; only a different, not-allowed intent overrides.
            classified = self._by_classifier(text, role)
            return classified if classified.action != "answer" else chosen
        return self._by_classifier(text, role)

    def _by_classifier(self, text: str, role: str | None) -> PolicyVerdict:
        if not text.strip():
            return replace(ANSWER, role=role)
        if self.classifier is None:
            return self._by_lexicon(text, role) or replace(ANSWER, role=role)
        intent, probability = self._likeliest_intent(text)
        if intent is None:
            by_lexicon = self._by_lexicon(text, role)
            if by_lexicon is not None and by_lexicon.action != "answer":
                return by_lexicon
            return PolicyVerdict("answer", score=round(probability, 4), role=role)
        return self._verdict(intent, probability, "classifier", role)

    def _likeliest_intent(self, text: str) -> tuple[Intent | None, float]:
        """The intent the classifier finds likeliest for the text or one of its sentences (a
        request inside a longer message), when the probability that the part is not to be
        answered (that of all intents together: related intents share it) reaches the
        part's threshold (`part_threshold`: higher for a question about the proper way)."""
        assert self.classifier is not None
        parts = sentences(text)
        parts = [text] + parts if len(parts) > 1 else [text]
        probabilities = self.classifier.probabilities(parts)
        classes = self.classifier.classes
        columns = [n for n, c in enumerate(classes) if c != ANSWER_CLASS]
        against = probabilities[:, columns].sum(axis=1)
        named = [classes[columns[int(np.argmax(probabilities[n, columns]))]]
                 for n in range(len(parts))]
        needed = np.asarray([max(self.part_threshold(part, sentence=n > 0),
                                 self.objectless_threshold(named[n], part))
                             for n, part in enumerate(parts)])
        over = against >= needed
        row = int(np.argmax(np.where(over, against, -1.0))) if over.any() \
            else int(np.argmax(against))
        probability = float(against[row])
        if not over[row]:
            return None, probability
        column = columns[int(np.argmax(probabilities[row, columns]))]
        return self.intent(classes[column]), probability

    def _verdict(self, intent: Intent, score: float, matched_by: str,
                 role: str | None) -> PolicyVerdict:
        action, why, contact = intent.outcome(role)
        allowed = action == "answer"
        return PolicyVerdict(action, intent.id, why, "" if allowed else contact,
                             round(score, 4), matched_by, role, allowed,
                             intent.allowed_note if allowed else "")


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of the stretches between sentence ends, as `sentences` splits them (without
    gluing abbreviations back: a span never starts mid-sentence, it may end early)."""
    spans, start = [], 0
    for end in _SENTENCE_END.finditer(text):
        spans.append((start, end.start()))
        start = end.end()
    spans.append((start, len(text)))
    return spans


def _action(path: Path, where: str, value: object) -> Action:
    if value not in _STRICTNESS:
        raise RuleFileError(path, f"{where}: action {value!r} is not one of "
                                  f"{', '.join(_STRICTNESS)}")
    return value  # type: ignore[return-value]


def _role_outcomes(path: Path, intent: dict[str, Any]) -> dict[str, RoleOutcome]:
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
