"""The grounding verifier, with the real bundled embedder."""

import pytest

from copilot.grounding import GroundingVerifier, critical_terms, split_sentences

PASSAGE = ("3. On E-22, do not open the door to the clean side. Leave the load in the chamber, "
           "record the alarm in the logbook and inform the shift supervisor.")
CYCLE = "Porous load cycle P1: exposure 121.0 °C for 20 min, drying 20 min."


@pytest.fixture(scope="module")
def verifier(embedder):
    return GroundingVerifier(embedder, min_similarity=0.55, min_coverage=0.5)


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
    [v] = verifier.verify("Do not open the door to the clean side.", [PASSAGE])
    assert not v.supported and v.reason == "no citation"


def test_citation_to_missing_source_is_removed(verifier):
    [v] = verifier.verify("Do not open the door to the clean side [3].", [PASSAGE])
    assert not v.supported


def test_unrelated_sentence_is_removed(verifier):
    [v] = verifier.verify("Check the tablet hardness and the punch gap every hour [1].", [PASSAGE])
    assert not v.supported


def test_sentence_split_keeps_citations_with_their_sentence():
    text = "Leave the load in the chamber. [1] Inform the supervisor [2]. Then wait."
    assert split_sentences(text) == ["Leave the load in the chamber. [1]",
                                     "Inform the supervisor [2].", "Then wait."]


def test_critical_terms_cover_numbers_units_codes():
    terms = critical_terms("Hold 121.0 °C for 20 min on AC-02 (E-22), see SOP-STE-001 [1].")
    assert {"num:121.0", "num:20", "unit:°c", "unit:min", "code:AC-02", "code:E-22",
            "code:SOP-STE-001"} <= terms
    assert "num:1" not in terms  # citation markers are not facts
