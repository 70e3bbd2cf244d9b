"""Row and clause binding: a code or value the passage has, bound to another row, item or
quantity than the passage binds it to. The passages are written for these tests (a freeze
dryer and a WFI loop), none is a row of a mutation set; each mistake passes the presence checks
(every code and value of the claim occurs in the passage), so the old checks let it through."""

import pytest

from copilot.claim_checks import check_claim
from copilot.grounding import GroundingVerifier
from copilot.quantities import unsupported
from copilot.row_binding import REASON, check_binding

ALARMS = (
    "## 5 Alarms\n\n"
    "| Code | Message | Operator action |\n"
    "| --- | --- | --- |\n"
    "| F-03 | Condenser temperature high | Check the refrigeration unit; do not start "
    "primary drying above -50 °C |\n"
    "| F-07 | Chamber vacuum lost | Close the isolation valve and call engineering on-call |\n"
    "| F-11 | Shelf fluid pump fault | Stop the cycle and inform the supervisor |\n"
    "| F-14 | Door seal not inflated | Check the seal air supply reads 2.0 bar |\n")
LIMITS = (
    "### 6.2 Limits\n"
    "| Parameter | Alert limit | Action limit |\n"
    "| --- | --- | --- |\n"
    "| Conductivity | 0.9 µS/cm | 1.1 µS/cm |\n"
    "| TOC | 250 ppb | 400 ppb |\n"
    "| Bioburden | 3 CFU/100 mL | 10 CFU/100 mL |\n")
INTERVALS = (
    "| Interval | Task | Done by |\n"
    "| --- | --- | --- |\n"
    "| Weekly | Condenser defrost check and drain | Operator |\n"
    "| Every 3 months | Vacuum gauge calibration and leak rate test | Metrology |\n"
    "| Yearly | Shelf temperature mapping | Validation |\n")
STEP = ("4. Freeze the shelves to -40 °C and hold for 3 h, then evacuate the chamber to "
        "0.2 mbar. The condenser must be below -60 °C before evacuation starts.")
TABLE_ROW = ("| Parameter | Value |\n| --- | --- |\n"
             "| Secondary drying | Target shelf 30 °C, alarm above 35 °C |\n")
RELIEF = ("| Code | Message | Cause |\n| --- | --- | --- |\n"
          "| F-20 | Chamber pressure high | Chamber above 0.5 mbar during primary drying; the "
          "pressure relief valve opens at 0.8 mbar |\n"
          "| F-22 | Condenser full | Ice load above 60 kg |\n")
INCUBATE = ("2. Incubate the plates at 30–35 °C for at least 3 days, then at 20–25 °C for at "
            "least 4 days.")


def _bound(claim: str, passage: str) -> bool:
    return any(r.startswith(REASON) for r in check_claim(claim, passage))


@pytest.mark.parametrize("claim", [
    "Alarm F-07 means the condenser temperature is high.",  # F-03's row
    "A door seal that is not inflated shows as alarm F-11.",  # F-14's row
    "On F-14, close the isolation valve and call engineering on-call.",  # F-07's action
])
def test_a_code_with_another_rows_content_is_caught(claim):
    assert not unsupported(claim, ALARMS)  # every value is in the passage...
    assert _bound(claim, ALARMS), check_claim(claim, ALARMS)  # ...but in another row


@pytest.mark.parametrize("claim", [
    "Alarm F-03 means the condenser temperature is high.",
    "On F-07, close the isolation valve and call engineering on-call.",
    "If the door seal is not inflated (F-14), check that the seal air supply reads 2.0 bar.",
    "F-11 is a shelf fluid pump fault: stop the cycle and inform the supervisor.",
])
def test_a_code_with_its_own_rows_content_passes(claim):
    assert check_binding(claim, ALARMS) == []


def test_a_value_of_another_row_is_caught_for_the_named_code():
    # 2.0 bar is F-14's seal air supply; F-03's row has a temperature, not a pressure, so the
    # value check asks for a value of the same kind in the code's own row.
    claim = "On F-03, do not start primary drying above -50 °C or with the seal air at 2.0 bar."
    assert check_binding(claim, ALARMS) == []  # no pressure in F-03's row: nothing to bind to
    wrong = ALARMS.replace("-50 °C", "-50 °C or seal air below 1.5 bar")
    assert _bound("On F-03, the seal air must be at least 2.0 bar.", wrong)


@pytest.mark.parametrize("claim", [
    "The TOC action limit is 250 ppb.",  # the alert column
    "The alert limit for conductivity is 1.1 µS/cm.",  # the action column
    "The bioburden action limit is 3 CFU/100 mL.",
])
def test_a_value_from_another_column_is_caught(claim):
    assert not unsupported(claim, LIMITS)
    assert _bound(claim, LIMITS), check_claim(claim, LIMITS)


@pytest.mark.parametrize("claim", [
    "The TOC action limit is 400 ppb.",
    "The alert limit for conductivity is 0.9 µS/cm.",
    "Bioburden has an alert limit of 3 CFU/100 mL and an action limit of 10 CFU/100 mL.",
])
def test_a_value_from_its_own_column_passes(claim):
    assert check_binding(claim, LIMITS) == []


def test_a_value_from_another_row_of_a_table_is_caught():
    claim = "The TOC alert limit is 0.9 µS/cm."
    # µS/cm against ppb: no value of the same kind in the TOC row, so nothing to bind against.
    assert check_binding(claim, LIMITS) == []
    claim = "The conductivity action limit is 10 CFU/100 mL."
    assert check_binding(claim, LIMITS) == []  # a bioburden unit: the unit check's business
    assert _bound("The bioburden alert limit is 1.1 µS/cm.",
                  LIMITS.replace("3 CFU/100 mL", "3 CFU/100 mL, 0.5 µS/cm"))


def test_a_cell_of_another_row_in_place_of_its_own_is_caught():
    claim = "The vacuum gauge calibration and leak rate test are done yearly."
    assert _bound(claim, INTERVALS), check_claim(claim, INTERVALS)
    assert check_binding("The vacuum gauge calibration and leak rate test are done every "
                         "3 months by metrology.", INTERVALS) == []
    # Two rows named, each with its own interval: no swap.
    assert check_binding("Metrology calibrates the vacuum gauge every 3 months and validation "
                         "maps the shelf temperature yearly.", INTERVALS) == []


def test_values_of_one_cell_swapped_between_quantities_are_caught():
    claim = "For secondary drying the target shelf temperature is 35 °C, with the alarm above 30 °C."
    assert not unsupported(claim, TABLE_ROW)
    assert _bound(claim, TABLE_ROW), check_claim(claim, TABLE_ROW)
    assert check_binding("For secondary drying the target shelf temperature is 30 °C, with the "
                         "alarm above 35 °C.", TABLE_ROW) == []


def test_a_value_bound_to_another_quantity_of_a_row_is_caught():
    claim = "On F-20, the pressure relief valve opens at 0.5 mbar."
    assert not unsupported(claim, RELIEF)
    assert _bound(claim, RELIEF), check_claim(claim, RELIEF)
    assert check_binding("On F-20, the pressure relief valve opens at 0.8 mbar.", RELIEF) == []
    assert check_binding("F-20 shows when the chamber is above 0.5 mbar.", RELIEF) == []


def test_a_value_bound_to_another_quantity_of_a_sentence_is_still_caught():
    claim = "The condenser must be below -40 °C before evacuation starts."
    assert not unsupported(claim, STEP)
    assert check_claim(claim, STEP)  # the older value check sees this one
    assert check_binding("Before evacuation starts, the condenser must be below -60 °C.",
                         STEP) == []
    assert check_binding("Freeze the shelves to -40 °C and hold them for 3 h.", STEP) == []


def test_values_stated_together_must_be_paired_as_in_the_passage():
    claim = "Incubate the plates at 30–35 °C for at least 4 days, then at 20–25 °C for at least 3 days."
    assert not unsupported(claim, INCUBATE)
    assert _bound(claim, INCUBATE), check_claim(claim, INCUBATE)
    assert check_binding("Plates are incubated at 30–35 °C for at least 3 days and then at "
                         "20–25 °C for at least 4 days.", INCUBATE) == []


def test_the_verifier_rejects_a_code_bound_to_another_row(embedder):
    verifier = GroundingVerifier(embedder)
    bad, good = verifier.verify("Alarm F-07 means the condenser temperature is high [1]. "
                                "Alarm F-03 means the condenser temperature is high [1].",
                                [ALARMS])
    assert not bad.supported and REASON in bad.reason
    assert REASON not in good.reason


def test_a_code_a_row_only_refers_to_names_no_row():
    # SOP-FD-002 is cited inside a cell: a claim about another part of the passage that
    # names it is not bound to that row.
    passage = ("The line clearance of FD-01 follows SOP-FD-002 and is signed by the supervisor.\n\n"
               "| CAPA no. | Action |\n| --- | --- |\n"
               "| CAPA-2026-101-01 | Retrain operators on SOP-FD-002 |\n"
               "| CAPA-2026-101-02 | Add a supervisor signature to the clearance form |\n")
    assert check_binding("Line clearance under SOP-FD-002 is signed by the supervisor.",
                         passage) == []
    assert _bound("CAPA-2026-101-01 adds a supervisor signature to the clearance form.", passage)


def test_a_value_the_claim_binds_right_does_not_make_another_a_rival():
    # "test pressure 1,000 Pa" shares "pressure" with the 50 Pa decay limit, which the claim
    # also states and binds as the passage does: no swap.
    passage = ("2. The port is pressurised to 1,000 Pa and held for 5 min. "
               "3. The port passes when the pressure decay is 40 Pa or less in 5 min.")
    assert check_binding("The port passes when the pressure decay is 40 Pa or less in 5 min "
                         "(test pressure 1,000 Pa).", passage) == []
    # The decay limit given the test pressure's value is still a mistake.
    assert check_claim("The port passes when the pressure decay is 1,000 Pa or less in 5 min.",
                       passage)
