"""End to end with every real part: demo plant -> Chroma -> llama.cpp -> verified answer."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from copilot import BadQuestionError
from guardrails import demo_user

pytestmark = pytest.mark.slow

GOLD = [
    ("Autoclave AC-02 stopped with alarm E-22, what now?", {"SOP-STE-001", "MAN-AC-02"}),
    ("TP-07 shows alarm A-31, what should I check?", {"MAN-TP-07", "SOP-PRD-003"}),
    ("What is the conductivity limit for WFI at the WS-01 outlet?", {"SOP-WAT-007", "MAN-WS-01"}),
]


@pytest.mark.parametrize("question, gold", GOLD)
def test_demo_question_cites_gold_document(demo_copilot, question, gold):
    answer = demo_copilot.ask(question, user=demo_user("operator"))
    assert answer.status in ("grounded", "quoted"), answer.decline_reason
    assert answer.citations
    assert answer.cited_doc_ids()[0] in gold
    for citation in answer.citations:
        doc = demo_copilot.kb.document(citation.doc_id, citation.revision)
        assert doc.text[citation.start:citation.end] == citation.quote  # quotes are verbatim
        assert citation.status == "effective"
    # Whatever the model wrote, every shown sentence was verified or is a verbatim quote.
    if answer.status == "grounded":
        assert answer.sentences and all(s.supported for s in answer.sentences
                                        if s.text in answer.text)
    else:
        quoted = [line[2:] for line in answer.text.splitlines() if line.startswith("> ")]
        assert quoted and all(any(q in c.quote for c in answer.citations) for q in quoted)


def test_effective_revision_answers_setpoint_question(demo_copilot):
    answer = demo_copilot.ask("How long is the exposure time of the P1 porous load cycle on AC-02?")
    sop = [c for c in answer.citations if c.doc_id == "SOP-STE-001"]
    assert sop and {c.revision for c in sop} == {"5"}  # never the superseded rev 4
    if answer.status == "quoted":
        assert "| Exposure time | 20 min |" in answer.text
        # Rev 4's setpoint line never appears (rev 5's change history may mention the old value).
        assert "| Exposure time | 15 min |" not in answer.text
    else:
        assert "20 min" in answer.text and "15 min" not in answer.text


def test_unanswerable_question_is_declined(demo_copilot):
    answer = demo_copilot.ask("What does alarm L-04 on freeze dryer LY-01 mean?")
    assert answer.status == "declined"
    assert "Not found in the effective documents" in answer.text
    assert not answer.citations


def test_streaming_ends_with_the_answer(demo_copilot):
    events = list(demo_copilot.ask_stream("What is the TOC limit for WFI?"))
    assert events[-1].kind == "answer"
    final = events[-1].answer
    for event in events[:-1]:
        assert event.kind == "sentence" and event.text  # only verified sentences stream out


def test_malformed_question_is_refused(demo_copilot):
    with pytest.raises(BadQuestionError):
        demo_copilot.ask("   ")
    with pytest.raises(BadQuestionError):
        demo_copilot.ask("x" * 5000)


def test_cli_ask_json(demo_home):
    copilot_bin = Path(sys.executable).with_name("copilot")
    result = subprocess.run(
        [str(copilot_bin), "ask", "--json", "What should I do when AC-02 shows alarm E-22?"],
        capture_output=True, text=True, env={**_env(), "COPILOT_HOME": str(demo_home)}, timeout=300)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["status"] in ("grounded", "quoted")
    assert data["citations"][0]["doc_id"] in {"SOP-STE-001", "MAN-AC-02"}
    assert {"doc_id", "title", "revision", "section", "quote"} <= set(data["citations"][0])
    assert "draft" not in data  # the unverified model text never leaves through the CLI


def _env():
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
