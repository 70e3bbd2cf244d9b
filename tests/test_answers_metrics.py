"""The answer metrics of evals/answers.py: evidence shown over all answerable cases and among
the ones that got a card, and why the evidence was not shown (declined, refused by a guard,
or a card without it). The pipeline is replaced by scripted answers: these are the metric
functions, the real pipeline runs in `copilot eval`."""

from __future__ import annotations

from dataclasses import dataclass

from copilot.answer import Answer, Citation, EvidenceLine
from evals.answers import evaluate_case, evidence_missing, shown_phrase, summarise
from evals.dataset import Case, normalise

EVIDENCE = "Leave the load in the chamber and inform the supervisor."


def _citation(doc_id: str, quote: str) -> Citation:
    return Citation(n=1, chunk_id="c1", doc_id=doc_id, title="t", doc_type="sop", revision="1",
                    status="effective", section="6 Procedure", quote=quote, start=0,
                    end=len(quote), source=f"/x/{doc_id}.md")


def _card(line: str, doc_id: str = "SOP-1") -> Answer:
    return Answer(question="q", text=f"From the documents:\n{line} [1]", status="quoted",
                  citations=[_citation(doc_id, line)],
                  evidence=[EvidenceLine(n=1, kind="sentence", text=line, reading=line,
                                         headline=True)])


@dataclass(frozen=True)
class Event:
    """What evaluate_case reads of a streamed event: its kind and its answer."""

    kind: str
    answer: Answer


class Scripted:
    """Answers each question with the answer scripted for it."""

    scrubber = None

    def __init__(self, answers: dict[str, Answer]) -> None:
        self.answers = answers

    def ask_stream(self, question, user=None):
        answer = self.answers[question]
        if answer.status == "quoted":
            yield Event("card", answer)
        yield Event("answer", answer)


def _case(case_id: str) -> Case:
    return Case(id=case_id, question=case_id, doc="SOP-1", evidence=EVIDENCE,
                key_facts=["load in the chamber"])


def _rows() -> list[dict]:
    copilot = Scripted({
        "shown": _card(f"On E-22: {EVIDENCE}"),
        "lacks": _card("Record the alarm in the logbook."),
        "declined": Answer(question="q", text="Not found.", status="declined",
                           decline_reason="value_not_stated: no passage states a time"),
        "refused": Answer(question="q", text="Refused.", status="refused",
                          decline_reason="site policy manipulate_lab_data: refuse"),
    })
    return [evaluate_case(copilot, _case(i)) for i in ("shown", "lacks", "declined", "refused")]


def test_evidence_shown_is_split_by_why_it_was_not_shown():
    rows = _rows()
    assert [r["evidence_missing"] for r in rows] == [None, "card_lacks_evidence", "declined",
                                                      "refused"]
    answers = summarise(rows)["answers"]
    assert answers["evidence_shown_rate"] == 0.25  # 1 of 4 answerable cases
    assert answers["evidence_shown_among_answered"] == 0.5  # 1 of the 2 that got a card
    assert answers["evidence_not_shown"] == {
        "declined": ["declined (value_not_stated)"],
        "refused": ["refused (site policy manipulate_lab_data)"],
        "card_lacks_evidence": ["lacks"]}


def test_card_size_is_measured_over_the_cards_shown():
    rows = _rows()
    assert [r.get("card_lines") for r in rows] == [1, 1, None, None]
    answers = summarise(rows)["answers"]
    assert answers["card_lines_mean"] == 1.0
    assert answers["card_chars_mean"] == (len(f"On E-22: {EVIDENCE}")
                                          + len("Record the alarm in the logbook.")) / 2


def test_no_card_means_no_rate_not_zero():
    rows = [r for r in _rows() if r["status"] in ("declined", "refused")]
    answers = summarise(rows)["answers"]
    assert answers["evidence_shown_rate"] == 0.0
    assert answers["evidence_shown_among_answered"] is None
    assert answers["card_lines_mean"] is None


def test_a_shown_evidence_is_no_miss_whatever_the_status():
    assert evidence_missing("quoted", True) is None
    assert evidence_missing("grounded", False) == "card_lacks_evidence"
    assert evidence_missing("declined", False) == "declined"


def test_evidence_naming_a_person_is_found_as_the_card_redacts_it():
    def redact(text: str) -> str:  # what the scrubber does to this name
        return text.replace("Elena Petrova", "<PERSON_1>")

    shown = normalise("From the documents: QA (<PERSON_2>) rejected HM1-26-0037 on 2026-05-04.")
    assert shown_phrase("QA (Elena Petrova) rejected HM1-26-0037 on 2026-05-04.", shown, redact)
    assert not shown_phrase("QA (Elena Petrova) rejected HM1-26-0037 on 2026-05-04.", shown)
    assert not shown_phrase("QA (Elena Petrova) released HM1-26-0037", shown, redact)
    # A key fact that is only a name is not "shown" by any placeholder.
    assert not shown_phrase("Elena Petrova", shown, redact)


def _two_sources(first: str, second: str) -> Answer:
    """A card citing `first` then `second`, neither passage holding the case's evidence."""
    citations = [_citation(first, "Stop the press."), _citation(second, "Check the dies.")]
    citations[1] = citations[1].model_copy(update={"n": 2})
    return Answer(question="q", text="From the documents:\nStop the press. [1]", status="quoted",
                  citations=citations,
                  evidence=[EvidenceLine(n=1, kind="sentence", text="Stop the press.",
                                         reading="Stop the press.", headline=True)])


def test_also_gold_documents_count_for_precision_and_first_citation_not_gold_cited():
    answer = _two_sources("SOP-2", "SOP-3")
    plain = Case(id="a", question="a", doc="SOP-1", evidence=EVIDENCE)
    also = Case(id="a", question="a", doc="SOP-1", evidence=EVIDENCE, also_gold=["sop-2.md"])
    row = evaluate_case(Scripted({"a": answer}), plain)
    assert (row["citations_supporting"], row["gold_first"], row["gold_cited"]) == (0, False,
                                                                                    False)
    row = evaluate_case(Scripted({"a": answer}), also)
    # SOP-2 (named by its file name, as `doc` may be) states the answer; SOP-3 does not, and
    # the gold document itself was never cited
    assert row["citations_supporting"] == 1 and row["citations_total"] == 2
    assert row["gold_first"] is True and row["gold_cited"] is False


def test_also_gold_must_be_a_list_of_ids(tmp_path):
    import json

    import pytest

    from evals.dataset import load_cases

    path = tmp_path / "d.jsonl"
    base = {"id": "a", "question": "q", "doc": "SOP-1", "evidence": "e"}
    path.write_text(json.dumps({**base, "also_gold": ["SOP-2"]}) + "\n")
    assert load_cases(path)[0].also_gold == ["SOP-2"]
    path.write_text(json.dumps({**base, "also_gold": "SOP-2"}) + "\n")
    with pytest.raises(ValueError, match="also_gold"):
        load_cases(path)
