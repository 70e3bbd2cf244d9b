"""The verifier against small, plausible mistakes (#14 item 4), with the real MiniLM embedder.

The targets are asserted on the demo-plant and shared-corpus mutation sets the verifier was
tuned on; the fresh sets (fresh, fresh2) are measured by `python -m evals.mutations` only, never
here, so that they stay unseen (fresh has been tuned on since its first measurement; fresh2
never). The focused tests below are the holes the issue lists, one each.
"""

import pytest

from copilot.grounding import GroundingVerifier
from copilot.quantities import quantities_in
from evals.mutations import EXACT_KINDS, TARGETS, evaluate, load_rows


@pytest.fixture(scope="module")
def verifier(embedder):
    return GroundingVerifier(embedder)


@pytest.fixture(scope="module", params=["demo", "corpus"])
def measured(request, verifier):
    return request.param, evaluate(verifier, load_rows(request.param))


def test_faithful_paraphrases_are_accepted(measured):
    name, result = measured
    assert not result["failures"], result["failures"]
    assert result["faithful_acceptance"] >= TARGETS["faithful_acceptance"], (name, result["wrong"])


def test_number_unit_and_code_mutations_are_caught(measured):
    name, result = measured
    assert result["exact_kinds_caught"] >= TARGETS["exact_kinds_caught"], (name, result["wrong"])
    for kind in EXACT_KINDS:
        if kind in result["caught"]:
            assert result["caught"][kind] >= TARGETS["exact_kinds_caught"], (name, kind)


def test_other_mutations_are_caught(measured):
    name, result = measured
    assert result["other_kinds_caught"] >= TARGETS["other_kinds_caught"], (name, result["wrong"])
    # Every kind is measured, and none is left nearly blind.
    assert {"negation", "quantifier", "entity", "added_step", "elsewhere",
            "recombination"} <= set(result["caught"])
    assert min(result["caught"].values()) >= 0.75, (name, result["caught"])


def _judge(verifier, claim, passage):
    [verdict] = verifier.verify(f"{claim} [1]", [passage])
    return verdict


@pytest.mark.parametrize("passage, claim", [
    ("Close the guard when the force reaches 20 kN.", "Close the guard when the force reaches 20 N."),
    ("Hold the load at 121 °C for 20 min.", "Hold the load at 121 °F for 20 min."),
    ("Wait 5 min before opening the lid.", "Wait 5 mm before opening the lid."),
    ("Each vial holds 50 mg of the active substance.", "Each vial holds 50 µg of the active substance."),
    ("Set the inlet pressure to 2.1 bar.", "Set the inlet pressure to 2.1 psi."),
    ("The residue limit is 0.15% of the batch.", "The residue limit is 0.15 ppm of the batch."),
    ("Expose the load for 20 min, then dry it for 15 h.", "Expose the load for 20 h."),
    ("Keep the chamber below 3.5 bar(g).", "Keep the chamber below 3.5 bar."),
])
def test_a_changed_unit_is_caught(verifier, passage, claim):
    verdict = _judge(verifier, claim, passage)
    assert not verdict.supported
    assert verdict.missing_terms and "not in the cited passage" in verdict.reason


def test_a_negation_dropped_is_caught(verifier):
    verdict = _judge(verifier, "Open the door on the clean side.",
                     "Do not open the door on the clean side.")
    assert not verdict.supported and "negation" in verdict.reason


@pytest.mark.parametrize("claim", ["You may open the door on the clean side.",
                                   "The door on the clean side need not stay closed."])
def test_a_modality_flip_is_caught(verifier, claim):
    verdict = _judge(verifier, claim, "The door on the clean side must stay closed; never open it "
                                      "during a cycle.")
    assert not verdict.supported


def test_a_bound_flip_is_caught(verifier):
    passage = "Let the load cool on the trolley for at least 15 min before handling."
    assert _judge(verifier, "Let the load cool on the trolley for at least 15 min.", passage).supported
    verdict = _judge(verifier, "Let the load cool on the trolley for at most 15 min.", passage)
    assert not verdict.supported and "at most 15 min" in verdict.missing_terms


def test_a_quantifier_flip_is_caught(verifier):
    verdict = _judge(verifier, "Check some packs for a torn wrap.",
                     "Check every pack for a torn wrap before release.")
    assert not verdict.supported and "quantifier" in verdict.reason


def test_a_swapped_actor_is_caught(verifier):
    passage = "The operator records the alarm in the logbook and informs the shift supervisor."
    assert _judge(verifier, "The operator records the alarm in the logbook.", passage).supported
    verdict = _judge(verifier, "QA records the alarm in the logbook.", passage)
    assert not verdict.supported


def test_a_swapped_side_is_caught(verifier):
    passage = "After an aborted cycle, remove the load through the loading side."
    verdict = _judge(verifier, "After an aborted cycle, remove the load through the clean side.",
                     passage)
    assert not verdict.supported and "clean" in verdict.reason


def test_an_added_step_is_caught(verifier):
    passage = "If the test fails, label the sterilizer NOT FOR USE and inform the supervisor."
    verdict = _judge(verifier, "If the test fails, label the sterilizer NOT FOR USE, inform the "
                               "supervisor and replace the door gasket.", passage)
    assert not verdict.supported and "step" in verdict.reason


def test_a_value_of_another_row_is_caught(verifier):
    passage = ("| Test | Frequency | Limit |\n| --- | --- | --- |\n"
               "| Hardness | every 30 min | 60 N to 100 N |\n"
               "| Friability | every 2 h | Not more than 1.0 % |")
    assert _judge(verifier, "Hardness is tested every 30 min.", passage).supported
    assert not _judge(verifier, "Hardness is tested every 2 h.", passage).supported


def test_same_value_written_differently_is_no_false_alarm(verifier):
    passage = "Porous load cycle P1: exposure 121.0 °C for 20 min, drying 20 min."
    verdict = _judge(verifier, "Cycle P1 exposes the load at 121 °C for 20 minutes.", passage)
    assert verdict.supported, verdict.reason


def test_ranges_and_their_units():
    found = [(q.value, q.unit) for q in quantities_in("3.0 to 3.8 bar(g), 15–22 °C, 50-60°C")]
    assert found == [(3.0, "bar(g)"), (3.8, "bar(g)"), (15.0, "°C"), (22.0, "°C"),
                     (50.0, "°C"), (60.0, "°C")]
    assert [q.bound for q in quantities_in("at least 6.0 bar(g); 48 h or less")] == ["lower", "upper"]
