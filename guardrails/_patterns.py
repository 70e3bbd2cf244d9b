"""Helpers shared by the injection detector and the policy checker: YAML rule files, regex
macros and a sentence splitter good enough for questions and SOP text."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from .errors import GuardrailError, RuleFileError

if TYPE_CHECKING:
    import numpy as np

_MACRO = re.compile(r"\{(\w+)\}")
# Sentence ends: . ! ? before a capital, or a line break. Numbers ("121.0 °C") never split;
# abbreviations ("rev. 5", "Dr. Lee", "e.g. Grade B") are glued back on.
# The line-break branch starts only where a whitespace run starts (`(?<!\s)`): tried at every
# position of a long run of blanks it rescanned the rest of the run each time, quadratic
# (review F7c). Every match of it began at a run's start anyway, so the splits are the same.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(<\[])|(?<!\s)\s*\n\s*")
_ABBREVIATION = re.compile(r"(?:\b(?:rev|no|nr|dr|mr|mrs|ms|prof|fig|sect|approx|ca|vs|e\.g|i\.e|"
                           r"etc|st|incl)\.)$", re.IGNORECASE)


def load_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RuleFileError(path, str(exc)) from exc
    if not isinstance(data, dict):
        raise RuleFileError(path, "expected a mapping at the top level")
    return data


def compile_patterns(patterns: dict[str, str],
                     macros: dict[str, str]) -> dict[str, re.Pattern[str]]:
    """Compile named patterns case-insensitively after expanding `{macro}` references.

    Only names defined in `macros` are replaced, so regex quantifiers like `{0,40}` stay."""
    compiled: dict[str, re.Pattern[str]] = {}
    for name, pattern in patterns.items():
        expanded = _MACRO.sub(lambda m: macros.get(m.group(1), m.group(0)), pattern)
        try:
            compiled[name] = re.compile(expanded, re.IGNORECASE | re.MULTILINE)
        except re.error as exc:
            raise GuardrailError(f"pattern {name!r} does not compile: {exc}") from exc
    return compiled


def sentences(text: str) -> list[str]:
    out: list[str] = []
    for piece in _SENTENCE_END.split(text):
        piece = piece.strip()
        if not piece:
            continue
        if out and _ABBREVIATION.search(out[-1]):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


def string_list(path: Path, data: dict[str, Any], key: str) -> list[str]:
    """A list of strings from a rule file. YAML reads an unquoted "Note to the AI: ..." as a
    mapping, so anything that is not a string is refused with its position."""
    items = data.get(key) or []
    for n, item in enumerate(items):
        if not isinstance(item, str):
            raise RuleFileError(path, f"{key}[{n}] is not a string (quote it): {item!r}")
    return list(items)


class CachedEmbed:
    """Wraps an embedding function with a bounded per-text cache, so the injection detector
    and the policy checker embed a question once between them, and exemplars are not
    embedded again by a second detector built on the same function. Thread-safe: the UI
    serves several questions at once."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray], maxsize: int = 2048) -> None:
        self.embed = embed
        self.maxsize = maxsize
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        with self._lock:
            found = {t: self._cache[t] for t in texts if t in self._cache}
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            fresh = dict(zip(missing, self.embed(missing)))
            found.update(fresh)
            with self._lock:
                if len(self._cache) + len(fresh) > self.maxsize:
                    self._cache.clear()  # simple and bounded; exemplars return on next use
                self._cache.update(fresh)
        return np.stack([found[t] for t in texts]) if texts else self.embed([])
