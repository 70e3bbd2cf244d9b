"""BM25 over chunk texts with `bm25s`, persisted beside the vector index.

The tokenizer keeps codes whole ("E-22", "AC-02", "SOP-QA-009", "1.3") and also emits their
parts, so an alarm code or equipment tag matches exactly and still matches loosely written
queries ("AC02", "alarm 22").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from .errors import MissingDependencyError

_TOKEN = re.compile(r"[a-z0-9µ°]+(?:[-./][a-z0-9µ]+)*")
_STOPWORDS = frozenset(
    "a an and are as at be by do does for from has have how i if in into is it its of on or "
    "our should so than that the their then there these this to was we what when where which "
    "who why will with you your can must".split())


# Codes, tags and ids: E-22, AC-02, SOP-QA-009, KT50-26-0142, DEV-2026-019, WFI-UP-03.
# The middle segments are bounded ({0,7}): unbounded, every start in a long "a-a-a-..." ran to
# the end of the chain and back, quadratic (review F7a: 16 KB took 1.9 s). The longest code in
# the demo plant, the shared corpus and the eval sets has 4 hyphens (FDA-2013-S-0610-0003).
CODE = re.compile(r"\b[A-Za-z][A-Za-z0-9]{0,5}(?:-[A-Za-z0-9]{1,6}){0,7}-\d{1,5}[A-Za-z]?\b")


def codes_in(text: str) -> set[str]:
    """Alarm codes, equipment tags, document and batch ids in a text, upper-cased."""
    return {code.upper() for code in CODE.findall(text)}


def tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        word = match.group(0)
        if word in _STOPWORDS:
            continue
        tokens.append(_stem(word))
        if re.search(r"[-./]", word):
            parts = [p for p in re.split(r"[-./]", word) if p]
            tokens.extend(p for p in parts if p not in _STOPWORDS)
            tokens.append("".join(parts))
    return tokens


def _stem(word: str) -> str:
    """Light suffix stripping so "logged"/"log" and "days"/"day" meet; codes stay whole."""
    if not word.isalpha() or len(word) <= 4:
        return word
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


class LexicalIndex:
    """BM25 index over a fixed list of chunk ids; rebuilt when the catalog changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ids: list[str] = []
        self.generation = ""
        self._bm25: Any = None  # a bm25s.BM25 (untyped)

    def build(self, ids: list[str], texts: list[str], generation: str) -> None:
        bm25s = _bm25s()
        retriever = bm25s.BM25()
        corpus = [tokenize(t) or ["_empty_"] for t in texts]
        if corpus:
            retriever.index(corpus, show_progress=False)
        self._bm25 = retriever if corpus else None
        self.ids = ids
        self.generation = generation
        self._save()

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / "ids.json.tmp"
        tmp.write_text(json.dumps({"generation": self.generation, "ids": self.ids}))
        if self._bm25 is not None:
            self._bm25.save(str(self.folder / "bm25"))
        tmp.replace(self.folder / "ids.json")

    def load(self) -> bool:
        meta = self.folder / "ids.json"
        if not meta.exists():
            return False
        data = json.loads(meta.read_text())
        self.ids, self.generation = data["ids"], data["generation"]
        self._bm25 = _bm25s().BM25.load(str(self.folder / "bm25")) if self.ids else None
        return True

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every chunk (in `ids` order) for the query."""
        if self._bm25 is None:
            return np.zeros(len(self.ids), dtype=np.float32)
        tokens = tokenize(query)
        if not tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(tokens), dtype=np.float32)


def _bm25s() -> Any:
    try:
        import bm25s
    except ImportError as exc:
        raise MissingDependencyError("bm25s", "pip install bm25s==0.3.16") from exc
    return bm25s
