"""What the copilot returns: an answer, its citations and the verdict on every sentence."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from guardrails import InjectionVerdict, PolicyVerdict
from knowledge import Hit

DECISION_SUPPORT_NOTICE = ("Decision support only: verify against the controlled copy of the "
                           "cited document before acting.")


class Citation(BaseModel):
    n: int = Field(description="the [n] marker in the answer text")
    chunk_id: str
    doc_id: str
    title: str
    doc_type: str
    revision: str
    status: str
    section: str
    quote: str = Field(description="the cited passage, verbatim from the source")
    start: int = Field(description="character offset of the passage in the document text")
    end: int
    page: int | None = None
    source: str = ""
    score: float = 0.0

    @classmethod
    def from_hit(cls, n: int, hit: Hit) -> Citation:
        """Passage `hit` cited as [n]."""
        return cls(n=n, chunk_id=hit.chunk_id, doc_id=hit.doc_id, title=hit.title,
                   doc_type=hit.doc_type, revision=hit.revision, status=hit.status,
                   section=hit.section, quote=hit.text, start=hit.start, end=hit.end,
                   page=hit.page, source=hit.source, score=hit.score)


LineKind = Literal["step", "row", "sentence"]


class EvidenceLine(BaseModel):
    """One line of the evidence card, verbatim from its passage."""

    n: int = Field(description="the [n] citation of its passage")
    kind: LineKind
    text: str = Field(description="the line as the document has it (a row with its pipes)")
    reading: str = Field(description="the line as shown in plain text (a row with its "
                                     "column names)")
    header: list[str] = Field(default_factory=list, description="a table row's column names")
    cells: list[str] = Field(default_factory=list)
    headline: bool = False


class SentenceCheck(BaseModel):
    """The grounding verifier's verdict on one sentence of the model's draft."""

    text: str
    citations: list[int]
    supported: bool
    similarity: float = 0.0
    coverage: float = 0.0
    missing_terms: list[str] = Field(default_factory=list)
    reason: str = ""
    citation_added: bool = False  # uncited near-verbatim copy of one source, cited by the verifier
    scaffold: bool = False  # the model repeating the prompt's scaffolding: not a claim, not shown

    @property
    def shown_text(self) -> str:
        """The sentence as shown: with the marker the verifier added, if it added one."""
        if self.citation_added:
            return f"{self.text} " + "".join(f"[{n}]" for n in self.citations)
        return self.text


class GuardVerdicts(BaseModel):
    """The question checks' verdicts; a check that is switched off has none (and is left out
    when serialised, so the audit record and the JSON show only the checks that ran)."""

    injection: InjectionVerdict | None = None
    policy: PolicyVerdict | None = None

    @model_serializer(mode="wrap")
    def _checks_that_ran(self, handler: SerializerFunctionWrapHandler) -> dict:
        return {k: v for k, v in handler(self).items() if v is not None}

    @property
    def policy_note(self) -> str:
        """The policy's note for a role it allows the request to (where the answer is kept)."""
        return self.policy.note if self.policy is not None else ""

    def to_dict(self) -> dict:
        """As written to the audit trail: each check that ran, as a dict of its fields."""
        return self.model_dump()


class Answer(BaseModel):
    question: str
    text: str
    status: Literal["grounded", "quoted", "declined", "refused"] = Field(
        description="quoted: the evidence card, lines of the documents verbatim; grounded: the "
                    "card plus a model summary whose every sentence was verified; declined: the "
                    "effective documents do not state what was asked; refused: the question "
                    "breaks site policy or tries to inject instructions")
    citations: list[Citation] = Field(default_factory=list)
    closest: list[Citation] = Field(default_factory=list,
                                    description="nearest sources when the answer is declined")
    evidence: list[EvidenceLine] = Field(default_factory=list,
                                         description="the evidence card, headline first")
    summary: list[str] = Field(default_factory=list,
                               description="the model's summary sentences that were verified")
    sentences: list[SentenceCheck] = Field(default_factory=list)
    draft: str = Field(default="", description="the model's unverified text (audit only; never shown)")
    notice: str = DECISION_SUPPORT_NOTICE
    decline_reason: str = ""
    model: str = ""
    prompt_version: str = ""
    timings: dict[str, float] = Field(default_factory=dict)
    guards: GuardVerdicts = Field(default_factory=GuardVerdicts,
                                  description="verdicts of the injection and policy checks")

    @property
    def declined(self) -> bool:
        """No answer was given: not found, or refused."""
        return self.status in ("declined", "refused")

    def cited_doc_ids(self) -> list[str]:
        return list(dict.fromkeys(c.doc_id for c in self.citations))
