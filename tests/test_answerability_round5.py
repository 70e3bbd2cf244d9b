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
