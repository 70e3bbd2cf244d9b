"""Answers of the naive RAG baseline with the same chat model: top-4 chunks of `NaiveRag` in a
plain "answer from the context" prompt, the model's text shown as it is. The comparison column
for the copilot's verified answers: how many shown sentences state a number, unit, code or tag
that is not in the retrieved context, how many key facts appear, how often it says it does not
know on unanswerable questions.

    python -m evals.naive_answers --dataset evals/datasets/demo_qa.jsonl [--limit N] [--out DIR]
        [--results DIR/results.json]

The metrics carry the names of the copilot's (`evals/answers.py`) and are scored the same
way: key facts and the case's evidence looked for in what was shown (nothing, when the model
declined), unsupported numbers by the verifier's quantity check against the retrieved text,
time from the question to the first shown content (the whole reply: nothing is streamed).
`--results` adds them as the `naive_rag` column of a `copilot eval` results.json on the same
dataset and writes its report.md/report.html again, copilot and naive side by side. Cases
that test access control are left out (the naive RAG has none).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from pathlib import Path

from langchain_core.messages import HumanMessage, SystemMessage

from copilot import Settings, demo_plant_path
from copilot.build import build_chat_backend, build_embedder
from copilot.grounding import split_sentences, unsupported_terms

from .answers import is_gold
from .baselines import NaiveRag
from .bench_stats import percentile
from .dataset import Case, load_cases, normalise
from .report import write_reports

SYSTEM = "Answer the question using the context. If the context does not answer it, say I don't know."
# What counts as the naive model saying it does not know.
_DONT_KNOW = re.compile(r"\b(?:i\s+don'?t\s+know|not\s+(?:found|mentioned|provided|stated)|"
                        r"does\s+not\s+(?:say|mention|specify|provide)|no\s+information)\b", re.I)


def answer_case(rag: NaiveRag, model, case: Case) -> dict:
    started = time.perf_counter()
    hits = rag.search(case.question, k=4)
    context = "\n\n".join(text for _, _, text in hits)
    reply = model.invoke([SystemMessage(SYSTEM),
                          HumanMessage(f"Context:\n{context}\n\nQuestion: {case.question}")])
    seconds = time.perf_counter() - started
    text = str(reply.content).strip()
    declined = bool(_DONT_KNOW.search(text)) or not text
    sentences = [] if declined else split_sentences(text)
    shown = "" if declined else normalise(text)
    row = {"id": case.id, "answerable": case.answerable, "declined": declined, "answer": text,
           "retrieved": [doc_id for doc_id, _, _ in hits], "seconds": seconds,
           "shown_sentences": len(sentences),
           # The verifier's check: "20 h" against a context with "20 min" and "15 h" counts.
           "unsupported_number_sentences": sum(1 for s in sentences
                                               if unsupported_terms(s, context))}
    if case.answerable and not case.expect_restricted:
        facts = case.key_facts or []
        row["key_facts_found"] = sum(1 for f in facts if normalise(f) in shown)
        row["key_facts_total"] = len(facts)
        row["evidence_shown"] = bool(case.evidence) and normalise(case.evidence) in shown
        row["gold_retrieved"] = any(is_gold(case, d, source) for d, source, _ in hits)
    return row


def summarise(rows: list[dict]) -> dict:
    """The copilot's answer metrics (evals/answers.py) for the naive replies, where they
    apply: it cites nothing, so citation precision has no naive value."""
    answerable = [r for r in rows if r["answerable"] and "key_facts_total" in r]
    unanswerable = [r for r in rows if not r["answerable"]]
    scored = [r for r in answerable if "evidence_shown" in r]
    shown = sum(r["shown_sentences"] for r in rows)
    facts = sum(r["key_facts_total"] for r in answerable)
    seconds = [r["seconds"] for r in rows]
    return {
        "decline_accuracy": (sum(r["declined"] for r in unanswerable) / len(unanswerable)
                             if unanswerable else None),
        "false_decline_rate": (sum(r["declined"] for r in answerable) / len(answerable)
                               if answerable else None),
        "key_fact_recall": sum(r["key_facts_found"] for r in answerable) / facts if facts else None,
        "evidence_shown_rate": (sum(r["evidence_shown"] for r in scored) / len(scored)
                                if scored else None),
        # The gold document among the four chunks given to the model (it cites none).
        "gold_retrieved_rate": (sum(r["gold_retrieved"] for r in scored) / len(scored)
                                if scored else None),
        "unsupported_number_rate": (sum(r["unsupported_number_sentences"] for r in rows) / shown
                                    if shown else 0.0),
        "shown_model_sentences": shown,
        "answer_p50": percentile(seconds, 0.5) if rows else None,
        "answer_p95": percentile(seconds, 0.95) if rows else None,
        "n": len(rows),
    }


def add_column(results_path: Path, naive: dict) -> dict:
    """The naive metrics as the `naive_rag` column of a `copilot eval` results.json, and its
    report written again beside it (copilot and naive side by side)."""
    results = json.loads(results_path.read_text(encoding="utf-8"))
    if Path(results.get("dataset", "")).name != naive["dataset"]:
        raise SystemExit(f"{results_path} is for dataset {results.get('dataset')!r}, the naive "
                         f"answers for {naive['dataset']!r}: a column must be on the same cases")
    results["naive_rag"] = {"model": naive["model"], "dataset": naive["dataset"],
                            "machine": naive.get("machine", {}), **naive["naive_rag_answers"]}
    results_path.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    write_reports(results, results_path.parent)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("evals/results/naive_answers"))
    parser.add_argument("--results", type=Path, default=None,
                        help="a copilot eval results.json on the same dataset: add the column")
    args = parser.parse_args(argv)
    if args.results is not None and not args.results.is_file():
        parser.error(f"--results {args.results}: no such file")
    settings = Settings()
    cases = load_cases(args.dataset)
    cases = [c for c in cases if not c.expect_restricted][: args.limit or None]
    rag = NaiveRag(args.corpus or demo_plant_path(), build_embedder(settings.embedder))
    model = build_chat_backend(settings).model  # type: ignore[attr-defined]  # LangChain's
    load_before = os.getloadavg()
    rows = [answer_case(rag, model, case) for case in cases]
    # Its latency depends on what else the machine runs: the load average goes with it.
    machine = {"cores": os.cpu_count(),
               "load_average_before_1_5_15min": [round(x, 2) for x in load_before],
               "load_average_after_1_5_15min": [round(x, 2) for x in os.getloadavg()]}
    result = {"model": settings.llm, "dataset": args.dataset.name, "machine": machine,
              "naive_rag_answers": summarise(rows), "items": rows}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "naive_answers.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    if args.results is not None:
        add_column(args.results, result)
    print(json.dumps(result["naive_rag_answers"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
