"""Verifier round 3 (#14 item 4): faithful rewordings in new styles are accepted, the small
mistakes still caught, and sentences are not cut at abbreviations.

`tests/data/verifier_paraphrases_round3.jsonl` holds 136 faithful paraphrases over real
passages of the demo plant and the shared corpus (units written out, numbers as words, ranges
written another way, passive for active, lists merged, "121" for "121.0"). The verifier was
tuned on it, so the figure asserted here is a tuned one; the unseen sets are measured by
`python -m evals.mutations` only.
"""

import json
from pathlib import Path

import pytest

from copilot.claim_checks import check_claim
from copilot.grounding import GroundingVerifier, split_sentences
from copilot.quantities import quantities_in, unsupported
from evals.mutations import TARGETS, evaluate

PARAPHRASES = Path(__file__).parent / "data" / "verifier_paraphrases_round3.jsonl"


# --- sentences -------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "Section 3059 of the 21st Century Cures Act (Pub. L. 114-255) required FDA to publish a list.",
    "See Technical Report No. 18, Validation of Computer-Related Systems.",
    "Dry items (e.g. tips, tubes, empty glass flasks) are run on Cycle 4.",
    "Drums 1 and 2 (approx. 39,600 tablets) were segregated and labelled QUARANTINE.",
    "The layout is shown in Fig. 2 of the manual.",
    "It is a work of the U.S. Government under 17 U.S.C. 105.",
    "If you make 1 L of media (i.e. 1 L in a 2 L bottle), use the larger scale.",
    "Ch. 675, 52 Stat. 1049 was amended by Pub. L. 86–618 on July 12, 1960.",
    "The guidance dated Feb. 3, 2003 is withdrawn.",
])
def test_an_abbreviation_does_not_end_a_sentence(text):
    assert split_sentences(text) == [text]


@pytest.mark.parametrize("text, expected", [
    ("The inside of the isolator is Grade A. It houses the filling line.",
     ["The inside of the isolator is Grade A.", "It houses the filling line."]),
    ("Hardness was above 60–110 N. About 39,600 tablets were rejected.",
     ["Hardness was above 60–110 N.", "About 39,600 tablets were rejected."]),
    ("The test specification, etc. All of these documents are reviewed.",
     ["The test specification, etc.", "All of these documents are reviewed."]),
    ("Is the answer yes? No. The form is signed first.",
     ["Is the answer yes?", "No.", "The form is signed first."]),
    ("Close the door [1]. Then start the cycle [2].", ["Close the door [1].",
                                                       "Then start the cycle [2]."]),
])
def test_sentences_still_end_where_they_do(text, expected):
    assert split_sentences(text) == expected


# --- quantities ------------------------------------------------------------------------------

def _pairs(text):
    return [(q.value, q.unit, q.bound) for q in quantities_in(text)]


@pytest.mark.parametrize("text, expected", [
    ("flush for a minimum of two minutes", [(2.0, "min", "lower")]),
    ("dry for half an hour", [(30.0, "min", None)]),
    ("after every tenth clean", [(10.0, None, None)]),
    ("after every 10th clean", [(10.0, None, None)]),
    ("sizes 0.5, 1.7, and 2 mL", [(0.5, "mL", None), (1.7, "mL", None), (2.0, "mL", None)]),
    ("transfer to the 50 C drying oven", [(50.0, "°C", None)]),
    ("store in Grade 4 C area", [(4.0, None, None)]),
    ("in no case less than 2 years", [(2.0, "year", "lower")]),
    ("must be no colder than 55 °C", [(55.0, "°C", "lower")]),
])
def test_values_written_in_other_ways(text, expected):
    assert _pairs(text) == expected


def test_a_tolerance_states_the_ends_of_its_range():
    passage = "Fill with purified water at 60 °C ± 5 °C."
    assert not unsupported("Use water at 55 to 65 °C.", passage)
    assert not unsupported("Use water at 60 °C.", passage)
    assert unsupported("Use water at 70 °C.", passage)
    # The low end is a lower bound: "at most 55 °C" is not what the passage says.
    assert unsupported("Use water at most 55 °C.", passage)


def test_a_number_word_keeps_its_unit():
    assert unsupported("Flush for two hours.", "Flush to drain for at least 2 min.")
    assert not unsupported("Flush for two minutes.", "Flush to drain for at least 2 min.")


def test_both_is_no_value_of_its_own():
    assert not unsupported("Alert 1.0 µS/cm and action 1.3 µS/cm, both at 25 °C.",
                           "Alert limit 1.0 µS/cm at 25 °C; action limit 1.3 µS/cm at 25 °C.")


# --- claim checks ----------------------------------------------------------------------------

WAT = ("5. Fill the containers in this order, without rinsing them:\n"
       "   - TOC vial: 40 mL, filled to the brim with no air bubble or headspace;\n"
       "3. If the conductivity is above 1.3 µS/cm or the loop temperature is below 80 °C, do not "
       "sample. Go to section 6.6.\n")
E22 = ("3. On E-22, do not open the door to the clean side. Leave the load in the chamber, "
       "record the alarm and inform the shift supervisor immediately.\n"
       "6. Never acknowledge an alarm and restart a cycle without supervisor approval.")


@pytest.mark.parametrize("claim, passage", [
    # a negated detail left out is no flip
    ("The TOC vial takes 40 mL, filled to the brim.", WAT),
    # a bound word and a written-out unit are no new detail
    ("The loop temperature must be at least 80 degrees Celsius.",
     "- loop supply and return temperature (minimum 80 °C)."),
    # an antonym and a negation cancel out
    ("On E-22 the door to the clean side must stay closed.", E22),
    # "no longer" is the passage's "not ... any more"
    ("If you no longer plan to use the machine, switch it off with the power switch.",
     "6. If you do not plan to use the machine any more, switch it off using the power switch"),
    # "has cooled" obliges nothing; the "could" clause moved within the sentence
    ("Antibiotics should be added after autoclaving and after the media has cooled to a usable "
     "temperature, or else they could degrade.",
     "* Antibiotics should be added to media AFTER autoclaving and after the media has cooled to "
     "a usable temperature (or else the antibiotics could degrade)."),
    # a synonym ("middle" for "centre") is no swap
    ("A paler area in the middle of the sheet is a failure.",
     "A paler area in the centre of the sheet is a failure."),
    # two sentences in a row merged into one claim
    ("A 100 mL sample is taken at the discharge valve for conductivity, with a limit of "
     "5.0 µS/cm at 25 °C.",
     "7. Take a 100 mL sample of the final rinse water at the discharge valve and measure "
     "conductivity. The limit is 5.0 µS/cm at 25 °C."),
])
def test_faithful_rewordings_pass_the_claim_checks(claim, passage):
    assert check_claim(claim, passage) == []


@pytest.mark.parametrize("claim, passage, word", [
    ("On E-22, record the alarm, inform the shift supervisor and restart the cycle.", E22,
     "negation"),
    ("On E-22, open the door to the clean side.", E22, "negation"),
    ("If the conductivity is above 1.3 µS/cm, you may sample.", WAT, "modality"),
    ("Fill the TOC vial to the brim and weigh each vial on the bench balance.", WAT, "step"),
])
def test_the_small_mistakes_are_still_caught(claim, passage, word):
    reasons = check_claim(claim, passage)
    assert reasons and any(word in r for r in reasons), reasons


# --- the validation set ----------------------------------------------------------------------

def test_round3_paraphrases_are_accepted(embedder):
    rows = [json.loads(line) for line in PARAPHRASES.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 80 and all(r["expected_supported"] for r in rows)
    result = evaluate(GroundingVerifier(embedder), rows)
    assert not result["failures"], result["failures"]
    assert result["faithful_acceptance"] >= TARGETS["faithful_acceptance"], result["wrong"]
