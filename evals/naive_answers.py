"""Answers of the naive RAG baseline with the same chat model: top-4 chunks of `NaiveRag` in a
plain "answer from the context" prompt, the model's text shown as it is. The comparison column
for the copilot's verified answers: how many shown sentences state a number, unit, code or tag
that is not in the retrieved context, how many key facts appear, how often it says it does not
know on unanswerable questions.

    python -m evals.naive_answers --dataset evals/datasets/demo_qa.jsonl [--limit N] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage

from copilot import Settings, demo_plant_path
from copilot.build import build_chat_backend, build_embedder
from copilot.grounding import critical_terms, split_sentences

from .baselines import NaiveRag
from .dataset import Case, load_cases, normalise

SYSTEM = "Answer the question using the context. If the context does not answer it, say I don't know."
# What counts as the naive model saying it does not know.
_DONT_KNOW = re.compile(r"\b(?:i\s+don'?t\s+know|not\s+(?:found|mentioned|provided|stated)|"
                        r"does\s+not\s+(?:say|mention|specify|provide)|no\s+information)\b", re.I)


def answer_case(rag: NaiveRag, model, case: Case) -> dict:
    hits = rag.search(case.question, k=4)
    context = "\n\n".join(text for _, _, text in hits)
    started = time.perf_counter()
    reply = model.invoke([SystemMessage(SYSTEM),
                          HumanMessage(f"Context:\n{context}\n\nQuestion: {case.question}")])
    seconds = time.perf_counter() - started
    text = str(reply.content).strip()
    declined = bool(_DONT_KNOW.search(text)) or not text
    sentences = [] if declined else split_sentences(text)
    context_terms = critical_terms(context)
    row = {"id": case.id, "answerable": case.answerable, "declined": declined, "answer": text,
           "retrieved": [doc_id for doc_id, _, _ in hits], "seconds": seconds,
           "shown_sentences": len(sentences),
           "unsupported_number_sentences": sum(1 for s in sentences
                                               if critical_terms(s) - context_terms)}
    if case.answerable and not case.expect_restricted:
        facts = case.key_facts or []
        row["key_facts_found"] = sum(1 for f in facts if normalise(f) in normalise(text))
        row["key_facts_total"] = len(facts)
    return row


def summarise(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["answerable"] and "key_facts_total" in r]
    unanswerable = [r for r in rows if not r["answerable"]]
    shown = sum(r["shown_sentences"] for r in rows)
    facts = sum(r["key_facts_total"] for r in answerable)
    return {
        "decline_accuracy": (sum(r["declined"] for r in unanswerable) / len(unanswerable)
                             if unanswerable else None),
        "false_decline_rate": (sum(r["declined"] for r in answerable) / len(answerable)
                               if answerable else None),
        "key_fact_recall": sum(r["key_facts_found"] for r in answerable) / facts if facts else None,
        "unsupported_number_rate": (sum(r["unsupported_number_sentences"] for r in rows) / shown
                                    if shown else 0.0),
        "shown_model_sentences": shown,
        "answer_p50": statistics.median(r["seconds"] for r in rows) if rows else None,
        "n": len(rows),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("evals/results/naive_answers"))
    args = parser.parse_args(argv)
    settings = Settings()
    cases = load_cases(args.dataset)
    cases = [c for c in cases if not c.expect_restricted][: args.limit or None]
    rag = NaiveRag(args.corpus or demo_plant_path(), build_embedder(settings.embedder))
    model = build_chat_backend(settings).model
    rows = [answer_case(rag, model, case) for case in cases]
    result = {"model": settings.llm, "naive_rag_answers": summarise(rows), "items": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "naive_answers.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result["naive_rag_answers"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
