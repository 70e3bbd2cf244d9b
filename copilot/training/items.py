"""Quiz items, modules and learner records as pydantic models (the API's currency)."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field

ItemType = Literal["multiple_choice", "true_false", "ordering", "numeric", "scenario"]
ItemStatus = Literal["draft", "approved", "retired"]
TrainingType = Literal["quiz", "review", "read-and-understand"]
TRAINING_TYPES: tuple[str, ...] = ("quiz", "review", "read-and-understand")
DEFAULT_PASS_MARK = 0.8


class QuizItem(BaseModel):
    """One question, tied to the exact revision and passage it tests."""

    type: ItemType
    stem: str
    options: list[str] = Field(default_factory=list)  # empty for numeric fill-in
    key: str  # the option text; "True"/"False"; for ordering the options' letters, e.g. "C,A,B,D"
    doc_id: str
    revision: str
    section: str
    quote: str  # verbatim from Document.text
    quote_start: int = -1  # offset of the quote in Document.text
    status: ItemStatus = "draft"
    # Which fact produced it: sentence, table_row, alarm_row, steps, condition.
    source_kind: str = ""
    # Literal text that identifies what is asked (a row label, an alarm code, a condition, the
    # words before a blanked value): every line of the document holding all of it is where
    # the validator looks for a distractor that would also be correct.
    cue: list[str] = Field(default_factory=list)
    fact: str = ""  # true/false: the value the document states
    claim: str = ""  # true/false: the value the statement shows
    item_id: str = ""
    module_id: str = ""

    def model_post_init(self, __context: object) -> None:
        if not self.item_id:
            self.item_id = item_id_for(self)

    def public_dict(self) -> dict:
        return self.model_dump()


def item_id_for(item: QuizItem) -> str:
    """Same question on the same revision in the same module -> same id, so rebuilding a module
    never duplicates (a section module holds its own copies of the whole module's items)."""
    basis = json.dumps([item.module_id, item.doc_id, item.revision, item.type, item.stem,
                        item.options, item.key], ensure_ascii=False)
    return "Q-" + hashlib.sha1(basis.encode()).hexdigest()[:12]


class RejectedItem(BaseModel):
    item: QuizItem
    reason: str


class BuildResult(BaseModel):
    module_id: str
    doc_id: str
    revision: str
    section: str | None = None
    items: list[QuizItem]
    rejected: list[RejectedItem]

    @property
    def pass_rate(self) -> float:
        total = len(self.items) + len(self.rejected)
        return len(self.items) / total if total else 0.0

    def to_json_dict(self) -> dict:
        return {"module_id": self.module_id, "doc_id": self.doc_id, "revision": self.revision,
                "section": self.section,
                "items": [i.public_dict() for i in self.items],
                "rejected": [{"item": r.item.public_dict(), "reason": r.reason}
                             for r in self.rejected]}


class ModuleInfo(BaseModel):
    module_id: str
    doc_id: str
    section: str | None
    title: str
    revision: str  # the revision its live (non-retired) items cite
    counts: dict[str, int]  # status -> number of items
    needs_review: bool
    review_reason: str = ""


class GradedAnswer(BaseModel):
    item_id: str
    answer: str
    correct: bool
    key: str
    response_seconds: float | None = None


class ModuleResult(BaseModel):
    result_id: int | None = None
    user: str
    role: str
    module_id: str
    doc_id: str
    revision: str
    training_type: TrainingType
    score: float | None  # None for read-and-understand
    pass_mark: float
    passed: bool
    n_items: int
    n_correct: int
    at: str  # UTC ISO-8601
    answers: list[GradedAnswer] = Field(default_factory=list)


class Attempt(BaseModel):
    attempt_id: int | None = None
    user: str
    role: str
    item_id: str
    module_id: str
    doc_id: str
    revision: str
    answer: str
    correct: bool
    response_seconds: float | None
    training_type: TrainingType
    at: str
