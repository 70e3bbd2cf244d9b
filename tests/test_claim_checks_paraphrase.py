"""Faithful rewordings the claim checks used to reject, and the mistakes they must still catch
(#14 item 4). Passages are from the demo plant (SOP-QA-009, SOP-ASP-002, MAN-AC-02, SOP-EM-008);
the claims are written for these tests, none is a row of a mutation set."""

from copilot.claim_checks import check_claim
from copilot.quantities import quantities_in, unsupported

CLASSIFY = ("### 6.3 Classification\n"
            "QA classifies the deviation within 2 working days of the initial report. When in "
            "doubt, the higher class is chosen.")
EVIDENCE = ("### 6.1 Immediate actions\n"
            "3. Do not correct, repeat or discard anything that is evidence (printouts, plates, "
            "samples, packaging components) until QA agrees.")
ENTRY = ("### 6.1 Before entry\n"
         "2. Do not enter if you have a cold, diarrhoea, an open wound or a skin rash. Report it "
         "to the shift supervisor.")
GOGGLES = "6. Put on the sterile goggles so that no skin is visible between goggles and hood."
QUALIFY = ("1. Before the first entry to Grade B, each person completes theory training and "
           "three consecutive successful gowning sessions on three different days.")
LEAK = "4. Run the vacuum leak test (mode LT). The result must be 1.3 mbar/min or lower."
LOAD = "1. Confirm the load matches an approved loading pattern and does not exceed 4 STU."
BD = ('5. If either test fails, label AC-02 "NOT FOR USE", inform the shift supervisor and '
      "repeat the test once after checking the door seals.")
SHELF = "3. Place stopper bags flat on the middle shelf with the bag valve facing up."
TUBES = ("- When using 0.5 ml or smaller microcentrifuge (PCR) tubes, put them inside of a "
         "1.5 ml tube.")
MIXER = ("3. Run the impeller at 100 rpm and the chopper at 1000 rpm for 15 min with the lid "
         "closed.")


def test_negated_comparisons_are_bounds():
    # "not less than" used to read as an upper bound, "not higher than" as a lower one.
    bounds = {q.text: q.bound for q in quantities_in(
        "not less than 5 min, not higher than 1.3 mbar/min, no later than 2 working days")}
    assert bounds == {"5 min": "lower", "1.3 mbar/min": "upper", "2 working days": "upper"}
    assert unsupported("The result must not be higher than 1.3 mbar/min.", LEAK) == []
    assert unsupported("The result must not be lower than 1.3 mbar/min.", LEAK)


def test_a_bound_is_not_a_negation():
    from copilot.claim_checks import negations, tokens  # new in this change

    assert negations(tokens("classified no later than 2 days and must not exceed 4 STU")) == 0
    assert negations(tokens("do not enter")) == 1
    assert check_claim("Deviations are classified by QA no later than 2 working days after "
                       "the initial report.", CLASSIFY) == []


def test_a_negation_moved_within_the_sentence_is_no_flip():
    claim = "Anyone with a cold, diarrhoea, an open wound or a skin rash must not enter."
    assert check_claim(claim, ENTRY) == []
    assert check_claim("Anyone with a cold, diarrhoea, an open wound or a skin rash may enter.",
                       ENTRY)


def test_a_quoted_label_holds_no_negation():
    assert check_claim("If either test fails, do not repeat the test.", BD)


def test_particles_and_pronouns_are_no_new_step():
    assert check_claim("Evidence such as printouts, plates or samples is not corrected, repeated "
                       "or thrown away until QA agrees.", EVIDENCE) == []
    # A real added step still is one.
    assert check_claim("Evidence is photographed and emailed to the site director.", EVIDENCE)


def test_word_forms_of_one_word_are_known():
    assert check_claim("Before entering Grade B for the first time, each person needs theory "
                       "training plus three consecutive successful gowning sessions on three "
                       "different days.", QUALIFY) == []


def test_a_verb_or_adjective_the_passage_lacks_is_a_synonym_not_a_swap():
    assert check_claim("If in doubt, the higher class is picked.", CLASSIFY) == []
    assert check_claim("The sterile goggles are put on so that no skin shows between the "
                       "goggles and the hood.", GOGGLES) == []


def test_a_thing_or_a_position_the_passage_lacks_is_still_a_swap():
    assert check_claim("Put on the sterile goggles so that no skin is visible between goggles "
                       "and visor.", GOGGLES)
    assert check_claim("Place stopper bags flat on the bottom shelf with the bag valve facing "
                       "up.", SHELF)


def test_a_prohibition_is_an_obligation():
    reasons = check_claim("The load must follow an approved loading pattern and may not exceed "
                          "4 STU.", LOAD)
    assert not any("modality" in r for r in reasons), reasons
    assert any("modality" in r for r in check_claim("The load may exceed 4 STU.", LOAD))


def test_a_clause_joining_two_clauses_takes_values_from_both():
    assert check_claim("Put 0.5 ml or smaller PCR tubes inside a 1.5 ml tube.", TUBES) == []
    # Values swapped between the clauses of one sentence are still caught.
    assert check_claim("Run the impeller at 1000 rpm and the chopper at 100 rpm for 15 min.",
                       MIXER)
