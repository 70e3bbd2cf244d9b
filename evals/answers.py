"""Answer-level metrics over a dataset, with the real pipeline (real model).

    python -m evals.answers --dataset evals/datasets/demo_qa.jsonl [--corpus DIR] [--out DIR] [--limit N]

Writes `answers.json` with metrics and a per-item table. An item whose evaluation raises is a
failure row, never a crash of the run.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from copilot import Answer, AnswerEvent, Copilot, Settings, demo_plant_path
from copilot.grounding import split_sentences, unsupported_terms
from guardrails import demo_user

from .bench_stats import percentile
from .dataset import Case, load_cases, normalise

NO_ANSWER = ("declined", "refused")
# Why an answerable case's evidence was not shown: the pipeline declined (retrieval support,
# or no passage states what was asked), a guard refused the question (site policy,
# injection), or the card was shown without the evidence (line selection).
MISS_REASONS = ("declined", "refused", "card_lacks_evidence")


def _shown_sentences(answer: Answer) -> list[str]:
    """The model's sentences shown: the verified summary (the card is verbatim passages;
    declines state no facts)."""
    return [s for sentence in answer.summary for s in split_sentences(sentence)]


def is_gold(case: Case, doc_id: str, source: str = "") -> bool:
    """The gold document, named by id or by file name (as retrieval's metric allows)."""
    return _names(case.doc, doc_id, source)


def answers_question(case: Case, doc_id: str, source: str = "") -> bool:
    """The gold document or one the case lists in `also_gold` (another document stating the
    answer, checked by reading it): what citation precision and the first citation accept."""
    return any(_names(d, doc_id, source) for d in (case.doc, *case.also_gold))


def _names(name: str, doc_id: str, source: str) -> bool:
    """`name` (a doc id or a file name) is this document."""
    gold = name.lower()
    return doc_id.lower() == gold or (bool(source) and (
        Path(source).name.lower() == gold or Path(source).stem.lower() == gold))


_PLACEHOLDER = re.compile(r"<([A-Z_]+?)_\d+>", re.IGNORECASE)


def as_redacted(text: str) -> str:
    """Placeholders without their numbers: "<PERSON_2>" and "<PERSON_1>" both stand for a
    redacted name (the numbering is per question's passages, not per person)."""
    return _PLACEHOLDER.sub(r"<\1>", text)


def shown_phrase(phrase: str, shown: str, redact: Callable[[str], str] | None = None) -> bool:
    """Whether a case's evidence or key fact is in what was shown (normalised text). Names in
    deviation passages are redacted before they are quoted (copilot.sources), so a phrase
    naming a person is also looked for as the scrubber redacts it; a phrase that is nothing
    but a name must be shown as written."""
    text = normalise(phrase)
    if text in shown:
        return True
    if redact is None:
        return False
    redacted = as_redacted(normalise(redact(phrase)))
    if redacted == text or not _PLACEHOLDER.sub("", redact(phrase)).strip(" .,;:()"):
        return False
    return redacted in as_redacted(shown)


def shown_text(answer: Answer) -> str:
    """Everything an answer shows: its text and the card's lines as the documents have them
    (a table row's cells with its pipes, besides its reading with the column names)."""
    if answer.declined:
        return ""
    return normalise(answer.text + "\n" + "\n".join(line.text for line in answer.evidence))


def unsupported_number_sentences(answer: Answer) -> tuple[int, int]:
    """(shown sentences with a code, or a number with its unit and bound, that their cited
    passages do not state, shown): the verifier's quantity check, so "20 h" against "20 min"
    counts even when both 20 and h occur somewhere in the passages."""
    cited_text = "\n".join(c.quote for c in answer.citations)
    shown = _shown_sentences(answer)
    bad = sum(1 for s in shown if unsupported_terms(s, cited_text))
    return bad, len(shown)


def supports(case: Case, doc_id: str, source: str, quote: str) -> bool:
    """A citation supports the answer when it is from the gold document or an `also_gold` one,
    or when its passage holds the case's evidence or every one of its key facts (another
    document stating the same limit, e.g. the equipment manual next to the SOP)."""
    if answers_question(case, doc_id, source):
        return True
    text = normalise(quote)
    if case.evidence and normalise(case.evidence) in text:
        return True
    return bool(case.key_facts) and all(normalise(f) in text for f in case.key_facts)


def evidence_missing(status: str, shown: bool) -> str | None:
    """Why an answerable case's evidence was not shown (one of MISS_REASONS), None when it
    was."""
    if shown:
        return None
    if status in NO_ANSWER:
        return status
    return "card_lacks_evidence"


def evaluate_case(copilot: Copilot, case: Case) -> dict:
    started = time.perf_counter()
    first = evidence = None
    answer = None
    for event in copilot.ask_stream(case.question, user=demo_user(case.role)):
        if first is None:
            first = time.perf_counter() - started  # first shown content
        if evidence is None and event.kind in ("card", "answer"):
            evidence = time.perf_counter() - started  # the card, or the decline
        if event.kind == "answer":
            answer = cast(AnswerEvent, event).answer  # the kind names the event's class
    assert answer is not None
    total = time.perf_counter() - started
    cited = answer.cited_doc_ids()
    sources = {c.doc_id: c.source for c in answer.citations}
    gold_ids = [d for d in cited if is_gold(case, d, sources.get(d, ""))]
    # The first citation may be from the gold document or another one stating the answer.
    first_answers = bool(cited) and answers_question(case, cited[0], sources.get(cited[0], ""))
    row: dict[str, Any] = {
        "id": case.id, "question": case.question, "answerable": case.answerable,
        "restricted": case.expect_restricted, "status": answer.status, "cited": cited,
        "gold": case.doc, "also_gold": case.also_gold, "answer": answer.text,
        "decline_reason": answer.decline_reason,
        "ttft": first, "evidence_seconds": evidence, "seconds": total,
        "summary_sentences": len(answer.summary),
        "sentences": [s.model_dump() for s in answer.sentences],
    }
    if case.answerable and not case.expect_restricted:
        row["citations_supporting"] = sum(supports(case, c.doc_id, c.source, c.quote)
                                          for c in answer.citations)
        row["citations_total"] = len(answer.citations)
        row["gold_cited"] = bool(gold_ids)
        row["gold_first"] = first_answers
        facts = case.key_facts or []
        shown = shown_text(answer)
        scrubber = copilot.scrubber
        redact = (lambda text: scrubber.scrub(text).text) if scrubber else None
        row["evidence_shown"] = bool(case.evidence) and shown_phrase(case.evidence, shown, redact)
        row["key_facts_found"] = sum(1 for f in facts if shown_phrase(f, shown, redact))
        row["key_facts_total"] = len(facts)
        row["evidence_missing"] = evidence_missing(answer.status, row["evidence_shown"])
    if answer.status not in NO_ANSWER:
        # The card's size: it must stay short enough to read at the line.
        row["card_lines"] = len(answer.evidence)
        row["card_chars"] = sum(len(line.text) for line in answer.evidence)
    if case.expect_restricted:
        row["leak"] = case.doc in cited or any(c.doc_id == case.doc for c in answer.closest)
    bad, shown_count = unsupported_number_sentences(answer)
    row["unsupported_number_sentences"], row["shown_sentences"] = bad, shown_count
    return row


def summarise(rows: list[dict]) -> dict:
    ok = [r for r in rows if "error" not in r]
    answerable = [r for r in ok if r["answerable"] and not r["restricted"]]
    unanswerable = [r for r in ok if not r["answerable"]]
    shown_total = sum(r["shown_sentences"] for r in ok)
    cited_rows = [r for r in answerable if r["cited"]]
    facts_total = sum(r["key_facts_total"] for r in answerable)
    latencies = sorted(r["seconds"] for r in ok)
    evidence_latencies = sorted(r["evidence_seconds"] for r in ok
                                if r.get("evidence_seconds") is not None)
    with_evidence = [r for r in answerable if r.get("evidence_shown") is not None]
    answered = [r for r in with_evidence if r["status"] not in NO_ANSWER]
    cards = [r for r in ok if r.get("card_lines") is not None]

    def pct(values, q):  # one percentile definition for every figure (evals.bench_stats)
        return percentile(values, q) if values else None

    return {
        "answers": {
            "gold_cited_rate": _rate(sum(r["gold_cited"] for r in answerable), len(answerable)),
            "gold_first_rate": _rate(sum(r["gold_first"] for r in answerable), len(answerable)),
            # A refusal (site policy, injection) is also no answer.
            "decline_accuracy": _rate(sum(r["status"] in NO_ANSWER for r in unanswerable),
                                      len(unanswerable)),
            "false_decline_rate": _rate(sum(r["status"] in NO_ANSWER for r in answerable),
                                        len(answerable)),
            "key_fact_recall": _rate(sum(r["key_facts_found"] for r in answerable), facts_total),
            # Share of citations shown that come from the gold document or state the
            # case's evidence or all of its key facts (see supports()).
            "citation_precision": _rate(sum(r["citations_supporting"] for r in answerable),
                                        sum(r["citations_total"] for r in answerable)),
            # Stricter: share of answers with citations whose first citation is the gold doc
            # (or one of the case's `also_gold` documents, which state the answer too).
            "first_citation_gold_rate": _rate(sum(r["gold_first"] for r in cited_rows),
                                              len(cited_rows)),
            # The case's evidence string appears in what was shown (the card's lines).
            "evidence_shown_rate": _rate(sum(r["evidence_shown"] for r in with_evidence),
                                         len(with_evidence)),
            # The same among the answerable cases that got a card: line selection alone,
            # declines and guard refusals left out (they are counted below).
            "evidence_shown_among_answered": _rate(sum(r["evidence_shown"] for r in answered),
                                                   len(answered)),
            # Per case, why the evidence was not shown.
            "evidence_not_shown": evidence_misses(with_evidence),
            "card_lines_mean": _mean([r["card_lines"] for r in cards]),
            "card_chars_mean": _mean([r["card_chars"] for r in cards]),
            "summary_sentences_shown": sum(r.get("summary_sentences", 0) for r in ok),
            # No model sentence shown means no unsupported one: 0 of 0 is reported as 0.
            "unsupported_number_rate": (sum(r["unsupported_number_sentences"] for r in ok)
                                        / shown_total) if shown_total else 0.0,
            "shown_model_sentences": shown_total,
            "status_counts": {s: sum(r["status"] == s for r in ok)
                              for s in ("grounded", "quoted", "declined", "refused")},
        },
        "access": {"leaks": sum(r.get("leak", False) for r in ok)},
        "latency": {
            # Time to the first shown content; to the card (or the decline); to the end.
            "ttft_p50": pct([r["ttft"] for r in ok], 0.5),
            "evidence_p50": pct(evidence_latencies, 0.5),
            "evidence_p95": pct(evidence_latencies, 0.95),
            "answer_p50": pct(latencies, 0.5),
            "answer_p95": pct(latencies, 0.95),
        },
        "failures": [r for r in rows if "error" in r],
        "n": len(rows),
    }


def evidence_misses(rows: list[dict]) -> dict[str, list[str]]:
    """The ids of the cases whose evidence was not shown, by reason (a decline with its
    reason's kind: "dev-11 (value_not_stated)")."""
    misses: dict[str, list[str]] = {reason: [] for reason in MISS_REASONS}
    for r in rows:
        reason = r.get("evidence_missing") or evidence_missing(r["status"], r["evidence_shown"])
        if reason is None:
            continue
        label = r["id"]
        if reason in NO_ANSWER and r.get("decline_reason"):
            label += f" ({_reason_kind(r['decline_reason'])})"
        misses[reason].append(label)
    return misses


def _reason_kind(reason: str) -> str:
    """A decline reason without its particulars: 'value_not_stated: no passage states ...'
    -> 'value_not_stated'; 'closest passage is too far from the question (similarity 0.28)'
    -> 'closest passage is too far from the question'."""
    head = re.split(r"[:(]", reason, maxsplit=1)[0]
    return " ".join(head.split()[:8])


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _rate(num: float, den: float) -> float | None:
    return num / den if den else None


def run(copilot: Copilot, cases: list[Case]) -> dict:
    rows = []
    for case in cases:
        try:
            rows.append(evaluate_case(copilot, case))
        except Exception as exc:  # one broken item must not stop the run
            rows.append({"id": case.id, "question": case.question, "error": repr(exc),
                         "trace": traceback.format_exc(limit=3)})
    return {**summarise(rows), "items": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--corpus", default=None)
    parser.add_argument("--out", default="evals/results")
    parser.add_argument("--limit", type=int, default=0)
    args = parser.parse_args()
    cases = load_cases(args.dataset)
    if args.limit:
        cases = cases[: args.limit]
    with tempfile.TemporaryDirectory() as home:
        copilot = Copilot.from_settings(Settings(home=Path(home)))
        copilot.ingest([args.corpus or demo_plant_path()])
        results = run(copilot, cases)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "answers.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    print(json.dumps({k: v for k, v in results.items() if k != "items"}, indent=2))


if __name__ == "__main__":
    main()
