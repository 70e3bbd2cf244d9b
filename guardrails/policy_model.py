"""The semantic half of the GMP policy checker: lexicon features and a logistic regression.

A request is described by its sentence embedding and by 0/1 features from the policy's
lexicon: which action words (alter, fabricate, back-date, delete, suppress, bypass, skip,
disclose ...) and which protected objects (record, result, audit trail, alarm, interlock,
credential, batch status ...) it contains, the wording of a question about a topic ("what",
"who approves", "through change control") against the wording of a purpose to hide ("so it
passes", "before anyone notices"), and for each intent whether one of its actions stands
within a few words of one of its objects. A multinomial logistic regression (scikit-learn),
trained on the intents' exemplars and the near-misses that must be answered, turns these
into the probability of each intent and of "answer".

The fitted weights are plain arrays (`.npz`, loaded without pickle) next to the policy file,
with a fingerprint of everything they were trained from: the training texts and labels, the
lexicon, the settings and the embedding of a probe sentence. When the fingerprint does not
match (the policy changed, another embedder), the model is trained again at first use, which
takes seconds; `python -m evals.policy_tune --fit` refreshes the shipped file.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import re
import threading
import unicodedata
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import RuleFileError

Embed = Callable[[list[str]], np.ndarray]
ANSWER = "answer"
PROBE = "Probe sentence for the policy model: how is a batch record reviewed?"
_WORD = re.compile(r"\S+")
# The question reaches the policy check scrubbed: people and their ids are placeholders. The
# embedder has never seen "<PERSON_1>", and next to the training exemplars that ask about a
# colleague it reads like personal data being asked for: "Operator <PERSON_1> reported TP-07
# alarm A-31, what should I check?" was refused at 0.85 (0.13 with a name in its place). The
# classifier therefore reads every placeholder as an ordinary value of its kind, in training
# and in use alike; the rules still see the placeholders.
_STAND_INS = {"PERSON": "Alex Morgan", "EMPLOYEE_ID": "E4711",
              "EMAIL_ADDRESS": "alex.morgan@example.com", "PHONE_NUMBER": "+44 1632 960000",
              "STREET_ADDRESS": "1 High Street", "US_SSN": "078-05-1120"}
_PLACEHOLDER = re.compile(r"<([A-Z_]+)_\d+>")


# Round 6: plants type without diacritics ("wymysl", "zeby nikt", "loschen", "contrasena")
# as often as with them, and a pattern written with them missed the bare spelling (and the
# other way round). Every lexicon pattern, rule and frame is compiled on its folded source and
# matched against the folded text: a letter with diacritics becomes its base letter, one
# character for one (ł -> l, ß -> s, æ -> a, curly quotes -> '), so match positions in the
# folded text are positions in the original.
_FOLD_EXTRA = {"ł": "l", "Ł": "L", "ß": "s", "æ": "a", "Æ": "A", "ø": "o", "Ø": "O", "œ": "o",
               "Œ": "O", "đ": "d", "Đ": "D", "ı": "i", "’": "'", "‘": "'", "ʼ": "'"}


def _fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0xC0, 0x250):
        decomposed = unicodedata.normalize("NFD", chr(code))
        if len(decomposed) > 1 and ord(decomposed[0]) < 128 \
                and all(unicodedata.combining(c) for c in decomposed[1:]):
            table[code] = decomposed[0]
    table.update({ord(k): v for k, v in _FOLD_EXTRA.items()})
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """`text` with diacritics dropped, character for character (same length)."""
    return text.translate(_FOLD)


# Round 6: words and character n-grams of the folded text, hashed into a fixed number of
# columns. The embedder is English-only, so in German, Polish or Portuguese it gives little;
# the n-grams of word stems ("loesch", "wymysl", "apag") are the same in any spelling and
# carry what the multilingual training examples teach into text worded differently.
_TOKEN = re.compile(r"[^\W\d_]+")


def ngram_features(texts: list[str], dims: int) -> np.ndarray:
    out = np.zeros((len(texts), dims), dtype=np.float32)
    for row, text in enumerate(texts):
        words = _TOKEN.findall(fold(text).lower())
        keys = [f"w {w}" for w in words]
        keys += [f"p {w[:5]}" for w in words if len(w) > 5]
        keys += [f"b {a} {b}" for a, b in zip(words, words[1:])]
        for word in words:
            padded = f"<{word}>"
            keys += [padded[i:i + 4] for i in range(max(len(padded) - 3, 1))]
        if not keys:
            continue
        columns = np.fromiter((zlib.crc32(k.encode("utf-8")) % dims for k in keys),
                              dtype=np.int64, count=len(keys))
        np.add.at(out[row], columns, 1.0)
        out[row] /= np.linalg.norm(out[row])
    return out


def readable(text: str) -> str:
    """`text` with the scrubber's placeholders replaced by a plain value of their kind."""
    return _PLACEHOLDER.sub(lambda m: _STAND_INS.get(m.group(1), m.group(0)), text)


@dataclass(frozen=True)
class IntentPairs:
    """The (action, object) groups that make an intent, for its pair feature."""
    intent: str
    actions: tuple[str, ...]
    objects: tuple[str, ...]


class Lexicon:
    """0/1 features of a text from the policy's `lexicon` section."""

    def __init__(self, path: Path, config: dict[str, Any], pairs: list[IntentPairs]) -> None:
        self.window = int(config.get("pair_window", 8))
        self.actions = _groups(path, config, "actions", whole_words=True)
        self.objects = _groups(path, config, "objects", whole_words=True)
        self.frames = _groups(path, config, "frames", whole_words=False)
        for pair in pairs:
            unknown = [a for a in pair.actions if a not in self.actions] \
                + [o for o in pair.objects if o not in self.objects]
            if unknown:
                raise RuleFileError(path, f"{pair.intent}: unknown lexicon group(s) "
                                          f"{', '.join(unknown)}")
        self.pairs = [p for p in pairs if p.actions and p.objects]
        self.names = ([f"action:{n}" for n in self.actions] + [f"object:{n}" for n in self.objects]
                      + [f"frame:{n}" for n in self.frames]
                      + [f"pair:{p.intent}" for p in self.pairs])
        self.source = json.dumps({k: config.get(k) for k in
                                  ("pair_window", "actions", "objects", "frames")},
                                 sort_keys=True) + json.dumps([p.__dict__ for p in self.pairs])

    def features(self, text: str) -> np.ndarray:
        text = fold(text)
        starts = [m.start() for m in _WORD.finditer(text)]

        def words(pattern: re.Pattern[str]) -> list[int]:
            return [max(bisect.bisect_right(starts, m.start()) - 1, 0)
                    for m in pattern.finditer(text)]

        action_at = {n: words(p) for n, p in self.actions.items()}
        object_at = {n: words(p) for n, p in self.objects.items()}
        values = [bool(v) for v in action_at.values()] + [bool(v) for v in object_at.values()]
        values += [bool(p.search(text)) for p in self.frames.values()]
        for pair in self.pairs:
            acts = [i for a in pair.actions for i in action_at[a]]
            objs = [j for o in pair.objects for j in object_at[o]]
            values.append(any(abs(i - j) <= self.window for i in acts for j in objs))
        return np.asarray(values, dtype=np.float32)

    def found(self, text: str) -> dict[str, list[str]]:
        """Which groups a text contains (for explaining a verdict)."""
        vector = self.features(text)
        out: dict[str, list[str]] = {}
        for name, value in zip(self.names, vector):
            if value:
                kind, group = name.split(":", 1)
                out.setdefault(kind, []).append(group)
        return out


def _groups(path: Path, config: dict[str, Any], key: str,
            whole_words: bool) -> dict[str, re.Pattern[str]]:
    groups = config.get(key) or {}
    if not isinstance(groups, dict):
        raise RuleFileError(path, f"lexicon.{key} must map a group name to a pattern")
    compiled = {}
    for name, pattern in groups.items():
        if isinstance(pattern, list):  # one pattern per language: any of them
            if not pattern or not all(isinstance(p, str) for p in pattern):
                raise RuleFileError(path, f"lexicon.{key}.{name}: expected a pattern or a "
                                          f"non-empty list of patterns")
            pattern = "|".join(f"(?:{p})" for p in pattern)
        source = rf"(?<!\w)(?:{pattern})(?!\w)" if whole_words else str(pattern)
        source = fold(source)  # matched against folded text: see fold()
        try:
            compiled[name] = re.compile(source, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise RuleFileError(path, f"lexicon.{key}.{name} does not compile: {exc}") from exc
    return compiled


class IntentClassifier:
    """Probabilities of "answer" and of each intent for a text, from its embedding and its
    lexicon features."""

    def __init__(self, lexicon: Lexicon, texts: list[str], labels: list[str], embed: Embed,
                 c: float, lexicon_weight: float, similarity_weight: float = 0.0,
                 model_path: Path | None = None, ngram_weight: float = 0.0,
                 ngram_dims: int = 4096,
                 extra: tuple[list[str], list[str]] | None = None) -> None:
        self.lexicon, self.embed = lexicon, embed
        self.lexicon_weight = lexicon_weight
        self.similarity_weight = similarity_weight
        self.ngram_weight, self.ngram_dims = ngram_weight, ngram_dims
        self._train_vectors: np.ndarray | None = None  # for the similarity features
        self.texts, self.labels, self.c = texts, labels, c
        # Round 6: training examples beyond the policy file's exemplars (the labelled sets
        # under evals/datasets, written by `policy_tune --fit`); they travel inside the .npz
        # so that a refit at first use trains on the same examples.
        self.extra_texts, self.extra_labels = (list(extra[0]), list(extra[1])) if extra \
            else ([], [])
        self.model_path = model_path
        self.classes: list[str] = []
        self._coef: np.ndarray | None = None
        self._intercept: np.ndarray | None = None
        self.loaded_from_file = False
        self._lock = threading.Lock()  # the UI checks several questions at once

    @property
    def all_texts(self) -> list[str]:
        return self.texts + self.extra_texts

    @property
    def all_labels(self) -> list[str]:
        return self.labels + self.extra_labels

    def set_extra(self, texts: list[str], labels: list[str]) -> None:
        """Train (at the next fit) on these examples beyond the policy file's."""
        self.extra_texts, self.extra_labels = list(texts), list(labels)
        self._coef = self._intercept = None
        self._labels_cache = None

    _labels_cache: tuple[np.ndarray, list[str]] | None = None

    def _label_columns(self) -> tuple[np.ndarray, list[str]]:
        if self._labels_cache is None or len(self._labels_cache[0]) != len(self.all_labels):
            labels = self.all_labels
            self._labels_cache = (np.asarray(labels), sorted(set(labels)))
        return self._labels_cache

    # ---- features and prediction ----
    def matrix(self, texts: list[str], training: bool = False) -> np.ndarray:
        texts = [readable(t) for t in texts]
        vectors = np.asarray(self.embed(texts), dtype=np.float32)
        lexical = np.stack([self.lexicon.features(t) for t in texts]) if texts \
            else np.zeros((0, len(self.lexicon.names)), np.float32)
        columns: list[np.ndarray] = [vectors, self.lexicon_weight * lexical]
        if self.ngram_weight:
            columns.append(self.ngram_weight * ngram_features(texts, self.ngram_dims))
        if self.similarity_weight:
            columns.append(self.similarity_weight * self._similarities(vectors, training))
        return np.hstack(columns).astype(np.float32)

    def _similarities(self, vectors: np.ndarray, training: bool) -> np.ndarray:
        """Per class, the cosine of the nearest training example of that class (for a
        training example, its nearest other one: never itself)."""
        assert self._train_vectors is not None
        cosines = vectors @ self._train_vectors.T
        if training:
            np.fill_diagonal(cosines, -1.0)
        labels, order = self._label_columns()
        return np.stack([cosines[:, labels == c].max(axis=1) for c in order], axis=1)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """Rows: texts; columns: `self.classes`."""
        self.ensure_fitted()
        assert self._coef is not None and self._intercept is not None
        scores: np.ndarray = self.matrix(texts) @ self._coef.T + self._intercept
        if scores.shape[1] == 1:  # two classes: scikit-learn keeps one row of weights
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            return np.stack([1.0 - positive, positive], axis=1)
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        probabilities: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return probabilities

    # ---- fitting, and the shipped weights ----
    def ensure_fitted(self) -> None:
        if self._coef is not None:
            return
        with self._lock:
            if self._coef is None:
                self._load_or_fit()

    def _load_or_fit(self) -> None:
        probe = np.asarray(self.embed([PROBE]), dtype=np.float32)[0]
        fingerprint = self.fingerprint()
        if self.model_path is not None and self.model_path.is_file():
            with np.load(self.model_path, allow_pickle=False) as saved:
                if (str(saved["fingerprint"]) == fingerprint
                        and saved["probe"].shape == probe.shape
                        and float(saved["probe"] @ probe) > 0.999):
                    self.classes = [str(c) for c in saved["classes"]]
                    self._coef, self._intercept = saved["coef"], saved["intercept"]
                    self._train_vectors = saved["train_vectors"].astype(np.float32)
                    self.loaded_from_file = True
                    return
        self.fit()

    def fit(self) -> None:
        from sklearn.linear_model import LogisticRegression  # only when (re)training

        texts, labels = self.all_texts, self.all_labels
        if len(set(labels)) < 2:
            raise RuleFileError(self.model_path or Path("policy"),
                                "the classifier needs exemplars of at least one intent and "
                                "answer_exemplars (questions that must be answered)")
        # "answer" weighs as much as all intents together, each intent as much as any other:
        # refusing a legitimate question costs as much as answering a violation.
        counts = {label: labels.count(label) for label in set(labels)}
        intents = len(counts) - (ANSWER in counts)
        total = len(labels)
        weights = {label: total / (2 * n) if label == ANSWER else total / (2 * intents * n)
                   for label, n in counts.items()}
        model = LogisticRegression(C=self.c, class_weight=weights, max_iter=5000)
        self._train_vectors = np.asarray(self.embed([readable(t) for t in texts]),
                                         dtype=np.float32)
        model.fit(self.matrix(texts, training=True), labels)
        self.classes = [str(c) for c in model.classes_]
        self._coef = model.coef_.astype(np.float32)
        self._intercept = model.intercept_.astype(np.float32)

    def fingerprint(self) -> str:
        data = json.dumps({"texts": self.texts, "labels": self.labels, "c": self.c,
                           "extra_texts": self.extra_texts, "extra_labels": self.extra_labels,
                           "ngram_weight": self.ngram_weight, "ngram_dims": self.ngram_dims,
                           "stand_ins": _STAND_INS,
                           "lexicon_weight": self.lexicon_weight,
                           "similarity_weight": self.similarity_weight,
                           "lexicon": self.lexicon.source, "features": self.lexicon.names})
        return hashlib.sha256(data.encode("utf-8")).hexdigest()

    def save(self, path: Path) -> None:
        """Write the weights in use (fit() first to refresh them)."""
        self.ensure_fitted()
        probe = np.asarray(self.embed([PROBE]), dtype=np.float32)[0]
        assert (self._coef is not None and self._intercept is not None
                and self._train_vectors is not None)  # ensure_fitted set them
        np.savez_compressed(path, coef=self._coef, intercept=self._intercept,
                            classes=np.asarray(self.classes),
                            fingerprint=np.asarray(self.fingerprint()),
                            train_vectors=self._train_vectors.astype(np.float16),
                            probe=probe, extra_texts=np.asarray(self.extra_texts, dtype=str),
                            extra_labels=np.asarray(self.extra_labels, dtype=str))


def saved_extra(path: Path | None) -> tuple[list[str], list[str]] | None:
    """The extra training examples a saved model was fitted with (None: no such file, or a
    file from before round 6)."""
    if path is None or not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as saved:
        if "extra_texts" not in saved.files:
            return None
        return ([str(t) for t in saved["extra_texts"]], [str(label) for label in
                                                          saved["extra_labels"]])
