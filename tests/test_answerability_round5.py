"""Round 5 of the answerability rules: the asked value bound to the thing it is asked of.
Written from the tuning material (nearmiss_tune*.jsonl and the fresh1-4 near-miss sets, all
measured twice and tuned on since), never from a set of this round."""

from __future__ import annotations

import pytest

from copilot.answerability import asked_for, holds, why_not
from copilot.asked_value import property_holders, role_object, yes_no_subject

# ---- the phrases --------------------------------------------------------------------------


@pytest.mark.parametrize("question, holders", [
    ("What chopper speed is used during the rinses on GR-04?", {"chopper"}),
    ("Tell me the maximum chamber temperature allowed during P1 drying.", {"chamber"}),
    ("What is the max temperature?", set()),
    ("what relative humidity range is required in B2-205?", set()),
])
def test_the_word_before_a_property_names_whose_it_is(question, holders):
    assert property_holders(question) == holders


@pytest.mark.parametrize("question, subject", [
    ("Is a damp cloth allowed for the GR-04 dry clean?", ["damp", "cloth"]),
    ("Is compressed air OK for blowing powder out of GR-04?", ["compressed", "air"]),
    ("Can I open the clean-side door and take the load out?", []),
    ("Is it fine to stack bottles of liquid in the autoclave bin?", []),
    ("Is one CFU still acceptable in Grade A?", ["cfu"]),
])
def test_a_yes_no_question_is_about_the_phrase_after_its_verb(question, subject):
    assert yes_no_subject(question) == subject


@pytest.mark.parametrize("question, thing", [
    ("Who has to approve the quantity of start-up waste tablets before production?",
     ["quantity"]),
    ("Who checks the tooling installation on TP-07 and releases the press?",
     ["tooling", "installation"]),
    ("Who counts as a consignee in a recall?", ["consignee"]),
    ("W-08 steam low on WS-01, who do I ring?", []),
])
def test_a_role_question_is_about_what_the_person_acts_on(question, thing):
    assert role_object(question) == thing


# ---- the rules ----------------------------------------------------------------------------


def test_speed_is_a_required_property_although_it_is_stemmed_spe():
    asked = asked_for("GR-04 final rinse: what impeller speed do I run during the 50 L final "
                      "rinse?")
    assert "speed" in asked.required
    assert not holds(asked, "7. Perform a final rinse with 50 L of purified water at ambient "
                            "temperature. The limit is 5.0 µS/cm at 25 °C.")


def test_another_things_speed_in_the_next_step_does_not_answer():
    asked = asked_for("What chopper speed is used during the two hot purified water rinses on "
                      "GR-04?")
    assert why_not(asked, "6. Rinse the bowl and parts with purified water at 60 °C ± 5 °C, two "
                          "rinses of 5 min each, impeller at 100 rpm during each rinse.") \
        == "holder"
    assert holds(asked, "6. Rinse the bowl with purified water, two rinses of 5 min each, "
                        "chopper at 1000 rpm during each rinse.")


def test_a_rule_for_another_thing_does_not_answer_a_yes_no_question():
    asked = asked_for("Is a damp cloth allowed for the GR-04 dry clean between batches of a "
                      "campaign?")
    line = ("1. Between batches of the same campaign, a dry clean (section 6.2, vacuum and wipe "
            "with lint-free cloths) is allowed for a maximum of 5 consecutive batches.")
    assert why_not(asked, line) == "subject_np"
    assert holds(asked, "A damp cloth must not be used for the dry clean between batches.")


def test_a_person_acting_on_another_thing_does_not_answer_who():
    asked = asked_for("Who has to approve the quantity of start-up waste tablets before "
                      "production?")
    assert not holds(asked, "3. Perform the full in-process check on 20 tablets. Production "
                            "starts only after the supervisor signs that all results are "
                            "within limits.")
    assert holds(asked, "The supervisor approves the quantity of start-up waste before "
                        "production starts.")


def test_the_value_of_the_thing_named_in_the_other_sentence_does_not_answer():
    asked = asked_for("How long do the GR-04 removed parts stay in the drying cabinet?")
    line = ("1. Dry the bowl with the lid open using filtered air from the process air system "
            "at 60 °C for 30 min. Dry the parts in the drying cabinet at 60 °C.")
    assert why_not(asked, line) == "elsewhere"
    assert holds(asked, "1. Dry the bowl with filtered air. Dry the removed parts in the drying "
                        "cabinet at 60 °C for 45 min.")


def test_a_date_span_is_no_limit():
    asked = asked_for("what was Jubilant's action level for the excursions?")
    assert not holds(asked, "Between January and June 2025, your firm recorded excursions at "
                            "Jubilant in the filling room.")


@pytest.mark.parametrize("question, bound", [
    ("What is the low temperature alarm limit inside ISO-03?", "lower"),
    ("At what high pressure does the trip act?", "upper"),
    ("What is the alarm limit of the high-shear granulator?", ""),
    ("How long is the low-foaming detergent left to soak?", ""),
])
def test_a_low_or_high_alarm_asks_one_bound(question, bound):
    assert asked_for(question).bound == bound


def test_a_high_alarm_does_not_answer_the_low_one():
    asked = asked_for("What is the low temperature alarm limit inside ISO-03?")
    assert not holds(asked, "Code: I-31; Message: Isolator temperature high; Possible cause: "
                            "Inside temperature above 28 °C")


def test_a_bound_the_question_gives_is_context_and_the_other_one_is_asked():
    asked = asked_for("TP-07 dust extraction: minimum's 350 m3/h, whats the upper limit?")
    assert asked.bound == "upper"
    assert not holds(asked, "Parameter: Dust extraction; Value: Minimum 350 m³/h at the press "
                            "outlet")
    assert holds(asked, "Parameter: Dust extraction; Value: 350 m³/h to 600 m³/h at the press "
                        "outlet")


def test_another_item_of_the_asked_kind_does_not_answer():
    asked = asked_for("ISO-03 I-13 - critical alarm or just a warning?")
    assert not holds(asked, "Code: I-09; Message: Airflow velocity low; Operator action: "
                            "Critical: stop filling")
    assert why_not(asked_for("How long is the I-13 delay?"), "Code: I-09; Message: Airflow "
                   "velocity low; Possible cause: Downflow below 0.36 m/s for 10 s") \
        == "other_label"
    assert why_not(asked, "ISO-03 has critical alarms (red, filling stops) and warnings (amber, "
                          "filling may continue).") == "code"
    assert holds(asked, "Alarm table Code: I-13; Message: Particle count high; Operator action: "
                        "Critical: stop filling")
    cycle = asked_for("How long is Cycle 4 (dry items) on the autoclave?")
    assert not holds(cycle, "Autoclave liquid trash = Cycle 3. Dry items should be autoclaved "
                            "for a minimum of 2 hours.")


def test_a_time_far_from_the_asked_unit_does_not_answer():
    asked = asked_for("How many years do glycerol stocks of Ralstonia stay viable at -70C?")
    assert why_not(asked, "Ralstonia glycerol stocks are stored at -70C for 2-3 days.") \
        == "time_unit"
    assert holds(asked, "Ralstonia glycerol stocks stay viable at -70C for 2-3 years.")


def test_a_limit_asked_is_not_answered_by_a_reading():
    asked = asked_for("what RO permeate conductivity limit should have flagged the rise?")
    assert why_not(asked, "RO permeate conductivity had risen from 4.1 to 6.8 µS/cm since "
                          "2025-03-17.") == "no_limit"
    assert holds(asked, "RO permeate conductivity alarm limit: 5.0 µS/cm.")


def test_the_thing_a_criterion_is_asked_for_must_be_named():
    asked = asked_for("what is the gowning qualification acceptance criterion for the overboot "
                      "contact plates?")
    assert not holds(asked, "Sample location: Forearms, hood, chest; Acceptance criterion "
                            "(qualification): 5 CFU/plate or less per location")
    assert holds(asked, "Sample location: Overboots; Acceptance criterion (qualification): 5 "
                        "CFU/contact plate or less")


def test_each_is_a_frequency_of_an_occasion_only():
    asked = asked_for("Per 21 CFR 820.72, how often must inspection and test equipment be "
                      "calibrated?")
    assert not holds(asked, "§ 820.72 Inspection, measuring, and test equipment. Each "
                            "manufacturer shall ensure that test equipment is routinely "
                            "calibrated and inspected.")
    assert holds(asked, "§ 820.72 Inspection, measuring, and test equipment. Test equipment is "
                        "calibrated and inspected every 12 months.")


def test_a_question_in_the_text_states_no_value():
    asked = asked_for("RWXBioFuge: what's the maximum rpm allowed when spinning 0.5 ml PCR tubes?")
    assert not holds(asked, "Question: Let's spin PCR tubes at 2000 RPM at a radius of 10 cm, "
                            "what is the amount of g on the particle?")


def test_fewer_false_declines():
    # "3x" counts times; a glove change is a replacement; "30 min" is no minimum; "how much"
    # asks an amount; "what due date" asks a date although "longest" follows.
    rinse = asked_for("How many times is an empty non-hazardous chemical bottle rinsed before "
                      "the trash?")
    assert holds(rinse, "Non-hazardous: rinse with water 3x. Throw in normal trash.")
    gloves = asked_for("how often do we change all the gloves on ISO-03 even if they pass the "
                       "test?")
    assert holds(gloves, "Interval: Every 3 months; Task: Glove replacement on all ports, even "
                         "if tests pass")
    assert asked_for("I think friability is checked every 30 min, right?").kind != "criterion"
    assert asked_for("I-18 after aeration - how much extra aeration do I give it?").amount
    assert asked_for("What due date did they give for the CAPA to put the longest "
                     "interventions into media fills?").kind == "date"


def test_a_sentence_before_the_value_sets_its_subject():
    # The step's number after the section path is no value, and the sentence before the value
    # tells what the value's sentence goes on about.
    asked = asked_for("How far off can a punch's working length be before I have to reject it?")
    assert holds(asked, "Procedure > Punch and die inspection 4. Measure the working length of "
                        "every upper and lower punch with the gauge. Each punch must be within "
                        "±0.03 mm of the nominal value.")
