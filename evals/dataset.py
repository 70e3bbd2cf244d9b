"""The evaluation dataset format (JSONL, one case per line).

Answerable: {"id", "question", "answer", "doc", "evidence", "key_facts"?, "role"?}
  `doc` is the gold document's doc id or file name; `evidence` a verbatim quote from it.
Unanswerable: {"id", "question", "answerable": false, "role"?}
Access: add "expect_restricted": true to a case whose gold document the role must NOT see.
Optional "also_gold": [doc ids or file names] on an answerable case: other documents that,
  read by hand, state the answer too (the SOP's alarm step next to the manual's alarm row).
  Citation precision and the first-citation-gold metrics accept them; retrieval recall, MRR
  and `gold_cited_rate` stay on `doc` alone. Never list a document that is only on topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    answerable: bool = True
    answer: str = ""
    doc: str = ""
    evidence: str = ""
    key_facts: list[str] = field(default_factory=list)
    role: str = "operator"
    expect_restricted: bool = False
    also_gold: list[str] = field(default_factory=list)


def load_cases(path: Path | str) -> list[Case]:
    cases: list[Case] = []
    for number, line in enumerate(Path(path).read_text("utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if "id" not in raw or "question" not in raw:
            raise ValueError(f"{path}:{number}: a case needs 'id' and 'question'")
        known = {k: raw[k] for k in Case.__dataclass_fields__ if k in raw}
        also = known.get("also_gold", [])
        if not isinstance(also, list) or not all(isinstance(d, str) and d for d in also):
            raise ValueError(f"{path}:{number}: 'also_gold' must be a list of document ids")
        cases.append(Case(**known))
    return cases


def normalise(text: str) -> str:
    return " ".join(text.split()).lower()


def is_gold_hit(case: Case, doc_id: str, source: str, text: str) -> bool:
    """A hit is a retrieved chunk of the gold document containing the evidence."""
    gold = case.doc.lower()
    same_doc = doc_id.lower() == gold or Path(source).name.lower() == gold \
        or Path(source).stem.lower() == gold
    return same_doc and normalise(case.evidence) in normalise(text)
