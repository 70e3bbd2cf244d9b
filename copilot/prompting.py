"""Build the answer prompt from package files, within the model's token budget."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import yaml

from knowledge import Hit, codes_in

from .grounding import split_sentences

_WORD = re.compile(r"[a-z0-9][a-z0-9-]{2,}")
# Each source keeps at least this many tokens of text, however many sources there are.
MIN_SOURCE_TOKENS = 40


@dataclass(frozen=True)
class PromptTemplate:
    version: str
    system: str
    user: str
    source: str

    @classmethod
    def load(cls, name: str = "answer_v1") -> PromptTemplate:
        text = resources.files("copilot.prompts").joinpath(f"{name}.yaml").read_text("utf-8")
        data = yaml.safe_load(text)
        return cls(version=data["version"], system=data["system"].strip(),
                   user=data["user"].strip(), source=data["source"].strip())

    def render(self, question: str, hits: list[Hit], budget_tokens: int,
               count: Callable[[str], int]) -> tuple[list[tuple[str, str]], list[Hit]]:
        """Messages as (role, content) pairs and the hits that were given, in order.

        Time to first token on a CPU is set by prompt length, so each source is cut to its
        lines most related to the question until the budget is spent. The system text comes
        first and never changes, so backends that cache a prompt prefix reuse it.
        """
        headers = [self.source.format(n=n, doc_id=hit.doc_id, revision=hit.revision,
                                      section=hit.section or hit.title, text="")
                   for n, hit in enumerate(hits, start=1)]
        fixed = (count(self.system) + count(self.user.format(sources="", question=question))
                 + sum(count(h) for h in headers))
        per_source = max(MIN_SOURCE_TOKENS, (budget_tokens - fixed) // max(len(hits), 1))
        used: list[Hit] = []
        blocks: list[str] = []
        for hit, header in zip(hits, headers, strict=True):
            blocks.append(header + focus_lines(question, hit.text, per_source, count))
            used.append(hit)
        user = self.user.format(sources="\n\n".join(blocks), question=question.strip())
        return [("system", self.system), ("user", user)], used


def focus_lines(question: str, passage: str, budget: int, count: Callable[[str], int]) -> str:
    """The passage's lines that share most words and codes with the question, in their
    original order, within `budget` tokens. Lines are kept whole (never a half step); a line
    longer than the budget (a paragraph) is taken sentence by sentence."""
    lines = [line.strip() for line in passage.splitlines()
             if line.strip() and not re.fullmatch(r"[\s|:-]+", line)]
    if count("\n".join(lines)) <= budget:
        return "\n".join(lines)
    lines = [piece for line in lines
             for piece in (split_sentences(line) if count(line) > budget else [line])]
    words = set(_WORD.findall(question.lower()))
    codes = codes_in(question)
    scored = sorted(range(len(lines)), key=lambda i: (
        len(words & set(_WORD.findall(lines[i].lower()))) + 3 * len(codes & codes_in(lines[i])),
        -i), reverse=True)
    keep: list[int] = []
    spent = 0
    for i in scored:
        cost = count(lines[i])
        if spent + cost > budget and keep:
            continue
        keep.append(i)
        spent += cost
    return "\n".join(lines[i] for i in sorted(keep))
