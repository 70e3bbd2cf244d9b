"""Build the answer prompt from package files, within the model's token budget."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import yaml

from knowledge import Hit


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
        """Messages as (role, content) pairs and the hits that fit the budget, in order.

        The system text comes first and never changes, so backends that cache a prompt prefix
        (llama.cpp, vLLM) reuse it across questions.
        """
        used: list[Hit] = []
        blocks: list[str] = []
        fixed = count(self.system) + count(self.user.format(sources="", question=question))
        total = fixed
        for hit in hits:
            block = self.source.format(n=len(used) + 1, doc_id=hit.doc_id, revision=hit.revision,
                                       section=hit.section or hit.title, text=hit.text.strip())
            cost = count(block) + 2
            if used and total + cost > budget_tokens:
                break
            used.append(hit)
            blocks.append(block)
            total += cost
        user = self.user.format(sources="\n\n".join(blocks), question=question.strip())
        return [("system", self.system), ("user", user)], used
