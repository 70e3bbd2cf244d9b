"""Rules of the evidence card's line selection (copilot/evidence.py), on hand-made passages.

The embedder is replaced by one that gives every text the same vector, so only the card's own
signals (words, codes, numbers, sections, the asked value, the question's parts) decide; the
real embedder runs in tests/test_evidence_answers.py and in `copilot eval`."""

from __future__ import annotations

import numpy as np

from copilot import evidence
from copilot.evidence import CardComposer, ScoredUnit, Unit, question_parts
from knowledge import Hit


def _same_vector(texts: list[str]) -> np.ndarray:
    return np.full((len(texts), 4), 0.5)


def _unrelated(texts: list[str]) -> np.ndarray:
    """The question's vector orthogonal to every line's: similarity 0 for all."""
    vectors = np.zeros((len(texts), 2))
    vectors[0, 0] = 1.0
    vectors[1:, 1] = 1.0
    return vectors


def _hit(text: str, section: str = "6 Procedure", doc_id: str = "SOP-X",
         chunk: str = "c1", equipment: tuple[str, ...] = ()) -> Hit:
    return Hit(chunk_id=chunk, doc_id=doc_id, title="Procedure", doc_type="sop", revision="1",
               status="effective", section=section, text=text, start=0, end=len(text),
               source=f"{doc_id}.md", score=1.0, equipment=list(equipment))


def _ranked(question: str, *hits: Hit) -> list[str]:
    return [s.unit.text for s in CardComposer(_same_vector).score(question, list(hits))]


def _card(question: str, *hits: Hit) -> list[str]:
    composer = CardComposer(_unrelated)
    card = composer.compose(question, composer.score(question, list(hits)))
    return [s.unit.text for s in card.units]


def test_a_compound_question_has_its_parts():
    assert question_parts("When BAL-12 failed its daily check, how many weighings were "
                          "assessed and was any result affected?") == [
        "When BAL-12 failed its daily check, how many weighings were assessed",
        "was any result affected"]
    assert question_parts("Have we had E-22 on AC-02 before, and what happened to the CAPA?") \
        == ["Have we had E-22 on AC-02 before", "what happened to the CAPA"]
    assert question_parts("What is the drying time and temperature of cycle P1?") == []
    assert question_parts("The SST failed on HPLC-05. Can I still report the results?") == []


def test_each_part_of_a_compound_question_gets_a_line():
    def unit(text, score, parts, n=1, order=0):
        return ScoredUnit(Unit(n, "sentence", text, order, doc="DEV"), score, score,
                          parts=parts)

    scored = [unit("Eleven weighings were made since the last good check.", 1.4, (0.75, 0.38)),
              unit("On 2026-01-13 the daily check failed.", 1.3, (0.78, 0.28), n=2),
              unit("The weighings were assessed; no result was affected.", 0.95, (0.56, 0.48),
                   n=2, order=1),
              unit("The error cancels in the external standard calculation.", 0.75,
                   (0.35, 0.51), n=3)]
    card = CardComposer(embed=_same_vector).compose(
        "How many weighings were assessed and was any result affected?", scored)
    shown = [s.unit.text for s in card.support]
    # Below 0.7 of the headline, but the best line for "was any result affected" that is
    # also about the whole question (not the one that only echoes the part).
    assert "The weighings were assessed; no result was affected." in shown
    assert "The error cancels in the external standard calculation." not in shown


def test_lines_of_one_passage_are_shown_in_the_documents_order():
    def unit(text, score, n, order):
        return ScoredUnit(Unit(n, "sentence", text, order, doc=f"D{n}"), score, score)

    scored = [unit("Headline sentence about the alarm.", 1.0, 1, 0),  # best first, as scored
              unit("Another document line about the alarm.", 0.95, 3, 0),
              unit("The alarm was a repeat of the earlier deviation.", 0.9, 2, 4),
              unit("The CAPA was ineffective and was extended.", 0.8, 2, 5)]
    composer = CardComposer(embed=_same_vector, other_document_share=0.7)
    card = composer.compose("Has this happened before?", scored)
    assert [s.unit.text for s in card.support] == [
        "Another document line about the alarm.",
        "The alarm was a repeat of the earlier deviation.",
        "The CAPA was ineffective and was extended."]
    # Sorted by passage, not by score: a better line of the second passage comes after it.
    scored[2], scored[3] = (unit("The alarm was a repeat of the earlier deviation.", 0.8, 2, 4),
                            unit("The CAPA was ineffective and was extended.", 0.9, 2, 5))
    scored.sort(key=lambda s: -s.score)
    card = composer.compose("Has this happened before?", scored)
    assert [s.unit.text for s in card.support][1:] == [
        "The alarm was a repeat of the earlier deviation.",
        "The CAPA was ineffective and was extended."]


def test_the_digits_of_a_code_are_not_the_questions_numbers():
    # The 03 of ISO-03 is no number of the question: the line naming ISO-03 again is not the
    # one with the limit.
    hit = _hit("If the test fails, ISO-03 shows alarm I-07. "
               "The test passes when the decay is 50 Pa or less in 5 min.",
               section="6.2 Glove integrity test", equipment=("ISO-03",))
    assert _ranked("What is the pass limit for the ISO-03 glove integrity test?", hit)[0] == \
        "The test passes when the decay is 50 Pa or less in 5 min."


def test_a_value_question_puts_the_line_stating_that_value_on_the_card(monkeypatch):
    steps = _hit("4. Reassemble GR-04 and put the CLEAN status label on it, with the clean "
                 "hold time expiry.\n5. Sign the CLEAN status label and the cleaning record.",
                 section="6.4 Drying and visual inspection", equipment=("GR-04",))
    table = _hit("| Test | Acceptance criterion |\n| --- | --- |\n"
                 "| Clean hold time | 7 days (168 h) or less; after expiry, clean again |",
                 section="7 Acceptance Criteria and Records", chunk="c2",
                 equipment=("GR-04",))
    question = "How long does the CLEAN status on GR-04 stay valid after cleaning?"
    row = "| Clean hold time | 7 days (168 h) or less; after expiry, clean again |"
    assert row in _card(question, steps, table)
    monkeypatch.setattr(evidence, "VALUE_BONUS", 0.0)  # without the rule it is not
    assert row not in _card(question, steps, table)


def test_what_happened_to_a_batch_is_answered_by_its_fate(monkeypatch):
    hit = _hit("The sterility test of HM1-26-0037 passed on 2026-04-30. "
               "QA rejected HM1-26-0037 on 2026-05-04.", section="4 Impact Assessment")
    question = "What happened to batch HM1-26-0037 after the settle plate growth?"
    assert _ranked(question, hit)[0] == "QA rejected HM1-26-0037 on 2026-05-04."
    monkeypatch.setattr(evidence, "FATE_BONUS", 0.0)
    assert _ranked(question, hit)[0] != "QA rejected HM1-26-0037 on 2026-05-04."


def test_fragments_left_by_abbreviations_are_no_lines():
    hit = _hit("Effective 90 days after enactment, see section 107 of Pub. L. 87-781, set out "
               "as a note under section 321 of this title.", section="Effective Date")
    ranked = _ranked("When did the 1962 amendment take effect?", hit)
    assert "L." not in ranked and ranked


def test_a_line_sharing_only_the_section_titles_words_does_not_join():
    def unit(text, score, similarity, order):
        return ScoredUnit(Unit(1, "sentence", text, order, doc="USC"), score, similarity)

    scored = [unit("The Secretary shall issue guidance on delaying or limiting inspection.",
                   0.82, 0.47, 0),
              unit("The firm limited the inspection of its warehouse.", 0.70, 0.40, 1),
              unit("87-781, set out as a note under section 321 of this title.", 0.68, 0.29, 2)]
    card = CardComposer(embed=_same_vector).compose("Can a firm limit an inspection?", scored)
    assert [s.unit.text for s in card.support] == [
        "The firm limited the inspection of its warehouse."]


def test_a_statutes_citations_do_not_cut_its_notes_into_fragments():
    from copilot.evidence import joined_sentences

    text = ("Pub. L. 112-144, title VII, §707(b), July 9, 2012, 126 Stat. 1068, provided that: "
            "guidance is issued. Section 501(j) of the Act (21 U.S.C. 351(j)) applies. "
            "It was amended on Aug. 21, 1997 by law. The meeting is in Dec. The firm agreed.")
    assert joined_sentences(text) == [
        "Pub. L. 112-144, title VII, §707(b), July 9, 2012, 126 Stat. 1068, provided that: "
        "guidance is issued.", "Section 501(j) of the Act (21 U.S.C. 351(j)) applies.",
        "It was amended on Aug. 21, 1997 by law.",
        # a month's abbreviation before a word still ends the sentence
        "The meeting is in Dec.", "The firm agreed."]


def test_a_line_quoting_a_documents_title_is_a_catalog_entry_not_an_answer():
    title = "Warning Letter 320-26-40 to Cohance Lifesciences (complaint investigation)"
    letter = Hit(chunk_id="c1", doc_id="WL-1", title=title, doc_type="warning_letter",
                 revision="1", status="effective", section="", text=(
                     "Your complaint investigation concluded that the complaint about crumbling "
                     "tablets was not substantiated."), start=0, end=10, source="wl.md",
                 score=1.0, equipment=[])
    catalog = _hit(f"- Title: {title}, complaint investigation, crumbling tablets", "Files",
                   doc_id="SOURCES", chunk="c2")
    question = "Which complaint about crumbling tablets was not substantiated by Cohance?"
    assert _ranked(question, catalog, letter)[0].startswith("Your complaint investigation")


def test_a_why_question_gets_the_root_cause_line_of_the_headlines_document():
    hits = [_hit("Only batch KT50-25-0087 was affected by the A-31 alarms.", "4 Impact",
                 doc_id="DEV-1", chunk="c1"),
            _hit("Batch KT50-25-0087 was compressed on TP-07 with alarm A-31.", "1 Summary",
                 doc_id="DEV-1", chunk="c2"),
            _hit("Root cause: the punch gap on TP-07 was entered as 3.45 mm, not 3.65 mm.",
                 "6 Root Cause", doc_id="DEV-1", chunk="c3")]
    card = _card("Why did TP-07 keep giving A-31 alarms on batch KT50-25-0087?", *hits)
    assert any(line.startswith("Root cause:") for line in card)
    # without a cue naming the section, the line stays off a card its score does not reach
    card = _card("Was batch KT50-25-0087 affected by the A-31 alarms on TP-07?", *hits)
    assert not any(line.startswith("Root cause:") for line in card)
