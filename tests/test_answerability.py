"""Answerability rules: what kind of value a question asks for, and whether a line holds it
about the asked subject. Written from the tuning sets (nearmiss_tune*.jsonl), never from the
fresh near-miss sets."""

from __future__ import annotations

import pytest

from copilot.answerability import asked_for, holds, labels_in


@pytest.mark.parametrize("question, kind", [
    ("I'd like the repeatability criterion for BAL-12.", "criterion"),
    ("Could you tell me how long the LT cycle measures the pressure rise.", "duration"),
    ("Remind me what the check weight has to read on BAL-12.", "measure"),
    ("Please tell me the use-by for sterilised packs.", "duration"),
    ("Could you tell me whether a damp cloth is allowed for the dry clean?", "yes_no"),
    ("I need the maximum number of packs allowed in one load, please.", "count"),
    ("What does Cycle 5 do on the Robbins autoclave?", "code_meaning"),
])
def test_the_kind_is_read_through_the_way_a_request_is_put(question, kind):
    assert asked_for(question).kind == kind


def test_request_words_and_code_parts_are_no_subject_words():
    focus = asked_for("I'd like to know how often the BAL-12 levelling feet get serviced.").focus
    assert "bal" not in focus and "like" not in focus
    assert {"feet", "levell"} <= focus


def test_a_time_is_no_count():
    asked = asked_for("I'd like the limit on how many times a pack may be re-sterilised.")
    assert not holds(asked, "Sterilised packs must be used within 7 days.")
    assert holds(asked, "A pack may be re-sterilised at most two times.")


def test_a_count_asked_in_a_unit_is_answered_by_an_amount():
    asked = asked_for("how many litres does the storage tank hold?")
    assert asked.amount
    assert holds(asked, "Storage tank: 10,000 L, heated.")


def test_a_property_is_named_by_the_unit_of_its_value():
    asked = asked_for("What temperature should the water bath be for agar media poured the "
                      "same day?")
    assert holds(asked, "If autoclaving media with agar for pouring plates same-day, put media "
                        "in 50-60°C water bath.")
    assert not holds(asked, "If autoclaving media with agar for pouring plates same-day, put "
                            "media in the water bath.")


def test_an_interval_must_be_for_the_thing_worked_on():
    asked = asked_for("I'd like to know how often the BAL-12 levelling feet get serviced.")
    assert not holds(asked, "BAL-12 is returned to use only after repair by the service "
                            "provider and a passing daily check.")
    assert holds(asked, "The levelling feet are serviced every 12 months.")


def test_two_kinds_of_work_named_are_work_and_thing_at_once():
    asked = asked_for("How long do we have to close a deviation investigation?")
    assert holds(asked, "The investigation, including root cause and CAPA plan, is closed "
                        "within 30 calendar days of discovery unless QA approves an extension.")


def test_a_numbered_item_is_a_code_and_must_be_named():
    assert labels_in("* Autoclave trash = **Cycle 6**") == {"CYCLE 6"}
    asked = asked_for("What does Cycle 5 do on the Robbins autoclave?")
    assert not holds(asked, "Autoclave trash = **Cycle 6**")
    assert holds(asked, "Liquid trash = **Cycle 5**")


def test_a_count_must_count_the_thing_asked_about():
    asked = asked_for("How many re-injections of a sample are allowed after a failed SST?")
    assert not holds(asked, "Wrap all items in two layers of wrap; samples may be re-injected "
                            "only after the new SST has passed.")
    probes = asked_for("how many load probes does the sterilizer take?")
    assert holds(probes, "Temperature probes: 1 drain PT100, 1 recorder PT100, 4 load probes")


def test_offered_classes_make_a_classification_question():
    asked = asked_for("Could you tell me whether a late balance check is a minor or a major "
                      "deviation.")
    assert asked.kind == "classification" and asked.options == {"minor", "major"}
    assert "minor" not in asked.focus
    assert not holds(asked, "In Grade A there is no alert level: any growth in a late check "
                            "sample reaches the action limit.")
    assert holds(asked, "Minor: daily balance check done 1 h late with no weighing in between.")


@pytest.mark.parametrize("question, kind", [
    ("whats W-16 meaning?", "code_meaning"),
    ("ok to run the press with the doors open?", "yes_no"),
    ("E-24, is that one an abort alarm or just a yellow warning?", "classification"),
])
def test_terse_shapes(question, kind):
    assert asked_for(question).kind == kind


def test_one_bound_asked_is_not_answered_by_the_other():
    asked = asked_for("I'd like the longest the balance may be left switched on before the "
                      "daily check.")
    assert asked.kind == "duration" and asked.bound == "upper"
    assert not holds(asked, "Before the check: the room is between 20 °C and 25 °C. The balance "
                            "must be switched on for at least 30 min before the check.")
    assert holds(asked, "The balance may be left switched on for up to 8 h before the check.")
    low = asked_for("Please tell me the minimum compressed air pressure before a cycle.")
    assert holds(low, "Pre-use checks - compressed air: at least 6.0 bar.")
    assert not holds(low, "Compressed air: 8.0 bar maximum before a cycle.")


def test_when_something_is_due_asks_for_a_date():
    asked = asked_for("Could you tell me when the next annual calibration of BAL-12 is due.")
    assert asked.kind == "date"
    assert not holds(asked, "The external provider calibrates BAL-12 every 12 months.")
    assert holds(asked, "The next calibration of BAL-12 is due on 2026-11-30.")


def test_a_code_decline_names_the_code():
    assert asked_for("What does Cycle 5 do on the Robbins autoclave?").label == \
        "what CYCLE 5 means"
    assert asked_for("what micron rating goes in the feed filter?").kind == "measure"


def test_a_duration_is_no_frequency():
    asked = asked_for("How often do we have to run a media fill on the filling line?")
    assert not holds(asked, "I-18: extend aeration by 30 min before filling starts.")
    assert holds(asked, "Media fill on the filling line: every 6 months.")
    assert holds(asked, "The filling line media fill is repeated at 6 month intervals.")


def test_a_low_alarm_states_a_minimum():
    asked = asked_for("Tell me the maximum compressed air pressure allowed for the sterilizer.")
    assert not holds(asked, "Code: E-40; Message: Compressed air pressure low; Possible cause: "
                            "instrument air below 5.0 bar(g)")
    assert holds(asked, "Code: E-41; Message: Compressed air pressure high; Possible cause: "
                        "instrument air above 8.0 bar(g)")


def test_a_value_must_be_of_the_subject_not_only_of_the_property():
    asked = asked_for("Tell me the maximum compressed air pressure allowed for the sterilizer.")
    assert not holds(asked, "Pre-use checks - plant steam pressure at the jacket: 3.0 bar to "
                            "3.5 bar;")
    assert holds(asked, "Pre-use checks - compressed air pressure: 6.0 bar to 7.0 bar;")
