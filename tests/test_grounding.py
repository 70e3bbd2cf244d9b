"""The grounding verifier, with the real bundled embedder."""

import pytest

from copilot.grounding import GroundingVerifier, critical_terms, split_sentences

PASSAGE = ("3. On E-22, do not open the door to the clean side. Leave the load in the chamber, "
           "record the alarm in the logbook and inform the shift supervisor.")
CYCLE = "Porous load cycle P1: exposure 121.0 °C for 20 min, drying 20 min."


@pytest.fixture(scope="module")
def verifier(embedder):
    return GroundingVerifier(embedder, min_similarity=0.55, min_coverage=0.5,
                             min_repair_coverage=0.9)


def test_supported_sentence_is_kept(verifier):
    [v] = verifier.verify("On E-22, do not open the door to the clean side and inform the shift "
                          "supervisor [1].", [PASSAGE])
    assert v.supported, v.reason


def test_invented_setpoint_is_removed(verifier):
    [v] = verifier.verify("Run cycle P1 at 134 °C for 20 min [1].", [CYCLE])
    assert not v.supported
    assert "134" in v.missing_terms


def test_invented_alarm_code_is_removed(verifier):
    [v] = verifier.verify("On E-24, do not open the door to the clean side [1].", [PASSAGE])
    assert not v.supported and "E-24" in v.missing_terms


def test_sentence_without_citation_is_removed(verifier):
    # Related in meaning but not copied from the passage: no citation is invented for it.
    [v] = verifier.verify("Keep the autoclave shut and wait for help.", [PASSAGE])
    assert not v.supported and v.reason == "no citation" and not v.citation_added


def test_uncited_verbatim_copy_gets_the_citation_of_its_source(verifier):
    [v] = verifier.verify("Leave the load in the chamber, record the alarm in the logbook.",
                          [CYCLE, PASSAGE])
    assert v.supported and v.citation_added and v.citations == [2], v.reason
    assert v.shown_text.endswith("logbook. [2]")
    assert "citation added" in v.reason


def test_uncited_copy_with_an_invented_value_is_not_repaired(verifier):
    [v] = verifier.verify("Porous load cycle P1: exposure 134 °C for 20 min.", [CYCLE])
    assert not v.supported and not v.citation_added and v.reason == "no citation"


def test_short_uncited_fragment_is_not_repaired(verifier):
    [v] = verifier.verify("Inform the shift supervisor.", [PASSAGE])  # 3 content words
    assert not v.supported and v.reason == "no citation"


def test_citation_repair_is_off_by_default(embedder):
    strict = GroundingVerifier(embedder)
    [v] = strict.verify("Leave the load in the chamber, record the alarm in the logbook.",
                        [PASSAGE])
    assert not v.supported and v.reason == "no citation"


@pytest.mark.parametrize("echo", [
    "Question: what do I do after E-22 on AC-02?",
    "Answer (every sentence ends with its source number, like [1]):",
    "[1] SOP-STE-001 rev 5, 6 Procedure",
])
def test_echo_of_the_prompt_is_marked_and_not_shown(verifier, echo):
    [v] = verifier.verify(echo, [PASSAGE])
    assert v.scaffold and not v.supported


def test_answer_prefix_with_content_is_not_an_echo(verifier):
    [v] = verifier.verify("Answer: leave the load in the chamber [1].", [PASSAGE])
    assert not v.scaffold


def test_citation_to_missing_source_is_removed(verifier):
    [v] = verifier.verify("Do not open the door to the clean side [3].", [PASSAGE])
    assert not v.supported


def test_unrelated_sentence_is_removed(verifier):
    [v] = verifier.verify("Check the tablet hardness and the punch gap every hour [1].", [PASSAGE])
    assert not v.supported


@pytest.mark.light
def test_sentence_split_keeps_citations_with_their_sentence():
    text = "Leave the load in the chamber. [1] Inform the supervisor [2]. Then wait."
    assert split_sentences(text) == ["Leave the load in the chamber. [1]",
                                     "Inform the supervisor [2].", "Then wait."]


@pytest.mark.light
def test_critical_terms_cover_numbers_quantities_codes():
    terms = critical_terms("Hold 121.0 °C for 20 min on AC-02 (E-22), see SOP-STE-001 [1].")
    assert {"num:121", "num:20", "qty:121 °C", "qty:20 min", "code:AC-02", "code:E-22",
            "code:SOP-STE-001"} <= terms
    assert "num:1" not in terms  # citation markers are not facts
    assert "num:22" not in terms  # the digits of a code are not a value


@pytest.mark.light
def test_critical_terms_pair_numbers_with_units():
    # The number and the unit both occur in the passage, but not together.
    assert critical_terms("Dry for 20 h.") - critical_terms("Expose 20 min, dry 15 h.") \
        == {"qty:20 h"}
