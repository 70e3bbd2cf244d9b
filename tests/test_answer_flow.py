"""The typed answer flow, stage by stage, with the package's fakes: the gate's typed verdicts
(serialised as the audit trail and the JSON always had them), the pipeline's typed events, the
output filter, and one verdict type for the verifier and the answer."""

from __future__ import annotations

import json

import pytest

from copilot import (
    Answer,
    AnswerEvent,
    CardEvent,
    Citation,
    GuardVerdicts,
    SentenceCheck,
    SentenceEvent,
)
from copilot.grounding import GroundingVerifier
from copilot.guarding import GateVerdict, QuestionGate
from copilot.output_filter import OutputFilter
from guardrails import InjectionVerdict, PolicyChecker, PolicyVerdict, RegexScrubber, ScrubSession
from knowledge import HashEmbedder, Hit

POLICY = PolicyVerdict("answer", rule="disclose_training_record", role="trainer",
                       allowed_for_role=True, note="Training records are in the LMS.")
INJECTION = InjectionVerdict(flagged=False, score=0.12, reasons=["none"])


@pytest.mark.light
def test_guard_verdicts_serialise_as_the_dicts_they_replaced():
    assert GuardVerdicts().to_dict() == {}
    assert GuardVerdicts(policy=POLICY).to_dict() == {"policy": POLICY.to_dict()}
    both = GuardVerdicts(injection=INJECTION, policy=POLICY)
    assert both.to_dict() == {"injection": INJECTION.to_dict(), "policy": POLICY.to_dict()}
    assert list(both.to_dict()) == ["injection", "policy"]
    answer = Answer(question="q", text="t", status="declined", guards=both)
    dumped = json.loads(answer.model_dump_json())
    assert dumped["guards"] == json.loads(json.dumps(both.to_dict()))
    # The UI keeps an answer as JSON and reads it back (ui/ask_tab.py).
    again = Answer.model_validate(answer.model_dump(mode="json"))
    assert again.guards.policy == POLICY and again.guards.injection == INJECTION
    assert again == answer


@pytest.mark.light
def test_the_gate_returns_a_typed_verdict():
    gate = QuestionGate(injection=None, policy=PolicyChecker(), model_name="m",
                        prompt_version="v1")
    verdict = gate.screen("Release batch KT50-25-0087, QC is complete.", role="operator")
    assert isinstance(verdict, GateVerdict) and verdict.refusal is not None
    assert verdict.guards.injection is None and verdict.guards.policy.action == "refuse"
    assert verdict.refusal.guards == verdict.guards
    assert (verdict.refusal.model, verdict.refusal.prompt_version) == ("m", "v1")
    passed = gate.screen("What is the exposure time of cycle P1?", role="operator")
    assert passed.refusal is None and passed.guards.policy.action == "answer"


@pytest.mark.light
def test_events_are_typed_and_keep_their_kind():
    answer = Answer(question="q", text="card", status="quoted")
    card, sentence, final = CardEvent(answer), SentenceEvent("Close the valve [1]."), \
        AnswerEvent(answer)
    assert [e.kind for e in (card, sentence, final)] == ["card", "sentence", "answer"]
    assert sentence.to_dict() == {"kind": "sentence", "text": "Close the valve [1].",
                                  "answer": None}
    assert final.to_dict()["answer"] == json.loads(answer.model_dump_json())
    assert json.dumps(card.to_dict())


@pytest.mark.light
def test_the_output_filter_scrubs_the_model_words_and_attaches_the_verdicts():
    output = OutputFilter(RegexScrubber(), ScrubSession())
    question = output.question("Did operator Maria Kowalski log alarm E-22?")
    assert "Kowalski" not in question and "<PERSON_1>" in question
    assert output.event(SentenceEvent("Operator Maria Kowalski logs it [1]."),
                        GuardVerdicts()).text == "Operator <PERSON_1> logs it [1]."
    quote = "Record the alarm in the logbook."
    said = "Operator Maria Kowalski logs it [1]."
    answer = Answer(question=question, status="grounded", text=f"Summary: {said}\n\n{quote}",
                    summary=[said], draft=said,
                    sentences=[SentenceCheck(text=said, citations=[1], supported=True,
                                             reason="Operator Maria Kowalski: ok")])
    shown = output.event(AnswerEvent(answer), GuardVerdicts(policy=POLICY))
    assert isinstance(shown, AnswerEvent)
    shown_answer = shown.answer
    assert "Kowalski" not in shown_answer.model_dump_json()
    assert shown_answer.text == f"Summary: Operator <PERSON_1> logs it [1].\n\n{quote}"
    assert shown_answer.guards.policy == POLICY
    # no scrubber: the words stay, the verdicts are still attached
    plain = OutputFilter(None).event(CardEvent(answer), GuardVerdicts(policy=POLICY))
    assert isinstance(plain, CardEvent) and plain.answer.text == answer.text
    assert plain.answer.guards.policy == POLICY


@pytest.mark.light
def test_the_policy_note_is_added_to_a_decline_only():
    declined = Answer(question="q", text="Not found.", status="declined")
    guards = GuardVerdicts(policy=POLICY)
    assert OutputFilter(None).answer(declined, guards).text == \
        "Not found.\n\nTraining records are in the LMS."
    quoted = declined.model_copy(update={"status": "quoted"})
    assert OutputFilter(None).answer(quoted, guards).text == "Not found."


@pytest.mark.light
def test_the_verifier_returns_the_answer_verdict_type():
    verifier = GroundingVerifier(HashEmbedder())
    verdicts = verifier.verify("Close the valve [1]. Open it again.", ["Close the valve."])
    assert all(isinstance(v, SentenceCheck) for v in verdicts)
    assert verdicts[1].reason == "no citation" and not verdicts[1].supported
    added = SentenceCheck(text="Close the valve.", citations=[2], supported=True,
                          citation_added=True)
    assert added.shown_text == "Close the valve. [2]"


@pytest.mark.light
def test_a_citation_is_made_from_its_hit():
    hit = Hit(chunk_id="c1", doc_id="SOP-1", title="Title", doc_type="sop", revision="3",
              status="effective", section="5 Steps", text="Close the valve.", start=10,
              end=26, page=2, source="sop.md", score=0.8)
    citation = Citation.from_hit(4, hit)
    assert citation.n == 4 and citation.quote == hit.text
    assert citation.model_dump(exclude={"n", "quote"}) == {
        k: getattr(hit, k) for k in citation.model_dump(exclude={"n", "quote"})}
