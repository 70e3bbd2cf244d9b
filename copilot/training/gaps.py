"""Knowledge gaps: where operators' questions and failed items cluster.

Questions come from the audit trail ("ask" records): each one counts for the documents and
sections it cited, or, when it went unanswered, for the closest sources it was pointed to
(an unanswered question counts double: the knowledge was wanted and not found). Failed quiz
items count for the section they cite. The ranking says which documents and sections deserve
a module or a refresher.

Gaps are shown to trainers, who may see fewer documents than the QA users whose questions
they are built from. With `may_see` (the viewer's access rule) a gap on a document the viewer
may not see is left out, and a question is never quoted as an example when its record cited
(or was pointed to) any such document: the question itself can carry restricted content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import BaseModel, Field

from guardrails import AuditRecord
from knowledge import KnowledgeBase

from .items import Attempt, QuizItem

ASK_WEIGHT = 1.0
UNANSWERED_WEIGHT = 2.0
FAILED_WEIGHT = 1.5


class Gap(BaseModel):
    doc_id: str
    section: str
    questions: int = 0
    unanswered: int = 0
    failed_items: int = 0
    attempts: int = 0
    score: float = 0.0
    example_questions: list[str] = Field(default_factory=list)


def knowledge_gaps(kb: KnowledgeBase, ask_records: Iterable[AuditRecord],
                   attempts: Iterable[Attempt], items: dict[str, QuizItem],
                   limit: int = 10, *, may_see: Callable[[str], bool],
                   may_quote_role: Callable[[str], bool] = lambda role: True) -> list[Gap]:
    """The top `limit` gaps of documents `may_see(doc_id)` admits. It is required, so no
    caller can forget the viewer; it filters before ranking, so the viewer still gets up to
    `limit` rows. A question is quoted as an example only when its asker's role sees no
    more than the viewer (`may_quote_role`): QA's wording of a restricted incident can be
    answered from an SOP the trainer sees, and still tell of the incident."""
    visible = may_see
    gaps: dict[tuple[str, str], Gap] = {}

    def gap(doc_id: str, section: str) -> Gap:
        return gaps.setdefault((doc_id, section), Gap(doc_id=doc_id, section=section))

    records = list(ask_records)
    refs = [(r, _refs(r.details)) for r in records]
    sections = kb.catalog.chunks_by_id({cid for _, found in refs for cid, _ in found if cid})
    for record, found in refs:
        answered = record.details.get("status") == "grounded"
        quotable = may_quote_role(record.role) and all(visible(doc_id) for _, doc_id in found
                                                       if doc_id)
        seen = set()
        for chunk_id, doc_id in found:
            row = sections.get(chunk_id)
            key = (doc_id, row["section"] if row is not None else "")
            if key in seen or not doc_id or not visible(doc_id):
                continue
            seen.add(key)
            target = gap(*key)
            target.questions += 1
            target.unanswered += 0 if answered else 1
            question = str(record.details.get("question", ""))
            if quotable and question and len(target.example_questions) < 3 \
                    and question not in target.example_questions:
                target.example_questions.append(question)
    for attempt in attempts:
        item = items.get(attempt.item_id)
        if item is None or not visible(item.doc_id):
            continue
        target = gap(item.doc_id, item.section)
        target.attempts += 1
        target.failed_items += 0 if attempt.correct else 1
    for target in gaps.values():
        target.score = (ASK_WEIGHT * (target.questions - target.unanswered)
                        + UNANSWERED_WEIGHT * target.unanswered
                        + FAILED_WEIGHT * target.failed_items)
    ranked = sorted((g for g in gaps.values() if g.score > 0),
                    key=lambda g: (-g.score, g.doc_id, g.section))
    return ranked[:limit]


def _refs(details: dict) -> list[tuple[str, str]]:
    """(chunk id, doc id) of the citations, or of the closest sources when nothing was cited."""
    cited = details.get("citations") or []
    chosen = cited if cited else details.get("closest") or []
    out = []
    for ref in chosen:
        if isinstance(ref, dict):
            out.append((str(ref.get("chunk_id", "")), str(ref.get("doc_id", ""))))
    return out
