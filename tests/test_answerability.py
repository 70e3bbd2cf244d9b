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


# Round 4 (tuned on nearmiss_tune*, the fresh1-3 sets, demo_qa and shared_corpus_qa; never on
# the fresh4 sets).

def test_a_redacted_value_is_not_stated_by_a_number_about_something_else():
    asked = asked_for("What is the firm's action level for personnel monitoring in CFU?")
    assert not holds(asked, "For example, you recovered 83 CFU from sampling an operator's neck "
                            "during personnel monitoring. Your action level for personnel "
                            "monitoring is (b)(4) or more CFU.")
    assert holds(asked, "Your action level for personnel monitoring is 5 CFU or more.")


def test_what_is_left_of_a_redacted_id_is_no_value():
    asked = asked_for("What residue limit did the stain testing exceed?")
    assert not holds(asked, "Investigators saw stains in the (b)(4) duct of a dryer "
                            "(PD/(b)(4)-01) and visible residues after the stain testing.")
    assert holds(asked, "The stain testing residue limit is 10 µg per swab.")


def test_years_are_no_count():
    asked = asked_for("How many cleaning verification studies did the firm run between 2019 "
                      "and 2024?")
    assert not holds(asked, "Your 2018 cleaning verification study failed to use the worst "
                            "case product.")
    assert holds(asked, "You ran 4 cleaning verification studies after the failure.")


def test_a_year_is_no_limit():
    asked = asked_for("What is the firm's action limit for Grade A environmental monitoring "
                      "samples?")
    assert not holds(asked, "No environmental monitoring results were outside of action limits "
                            "for Grade A (ISO 5) locations from January 2020 until November "
                            "2022.")


def test_footnote_and_page_numbers_are_no_values():
    asked = asked_for("What is the detection limit of the PCR assay for ruminant material?")
    assert not holds(asked, "15 See the PCR assay for ruminant material detection, available "
                            "from FDA.")
    counted = asked_for("How many labels get sampled in the labeling inspection?")
    assert not holds(counted, "Reuse Life 20 The labeling should inform the user about "
                              "sampled labels.")


def test_an_id_of_numbers_only_is_no_value():
    asked = asked_for("What was the firm's action level for personnel monitoring CFU?")
    assert not holds(asked, "Title: FDA Warning Letter 320-26-81 on personnel monitoring action "
                            "level excursions")


def test_rpm_is_a_speed_of_the_thing_asked_about():
    asked = asked_for("what shaker speed (rpm) for the overnight cultures?")
    assert not holds(asked, "High speed centrifuge > 10,000 RPM, depending on your settings.")
    assert holds(asked, "Grow overnight cultures in the shaker at 200 rpm.")


def test_the_name_of_the_limit_must_be_there():
    asked = asked_for("WS-01 WFI - what's the nitrate limit?")
    assert not holds(asked, "Parameter: WFI conductivity limit; Value: 1.3 µS/cm at 25 °C")
    assert holds(asked, "Parameter: WFI nitrate limit; Value: 0.2 ppm")


def test_a_question_naming_a_section_is_answered_from_that_section():
    asked = asked_for("Per 21 CFR 820.72, how often must test equipment be calibrated?")
    assert not holds(asked, "§ 820.198 Complaint files. Complaint test equipment shall be "
                            "calibrated every 12 months.")
    assert holds(asked, "§ 820.72 Inspection, measuring, and test equipment. Equipment is "
                        "calibrated every 12 months.")
    # a passage without numbered sections (a guidance) may still answer
    assert holds(asked, "Test equipment is calibrated every 12 months.")


def test_a_count_counts_the_head_of_its_phrase():
    asked = asked_for("What is the maximum number of glove changes allowed in one campaign?")
    assert not holds(asked, "All 10 glove ports are tested before each campaign.")
    assert holds(asked, "At most 4 glove changes are allowed in one campaign.")
    cfu = asked_for("How many CFU were recovered from the operator's neck?")
    assert holds(cfu, "You recovered 83 colony forming units from an operator's neck.")


def test_a_shelf_life_is_not_how_long_a_step_takes():
    asked = asked_for("how long are poured LB plates good for in the cold room?")
    assert not holds(asked, "Leave poured LB plates at room temperature for 1-2 days to dry.")
    assert holds(asked, "Poured LB plates can be stored in the cold room for 4 weeks.")


def test_an_amount_naming_the_item_must_be_there():
    asked = asked_for("Tolerance for the 50 g check weight on BAL-12?")
    assert not holds(asked, "Check weight: E2 200 g; Acceptable reading: 199.9995 g to "
                            "200.0005 g (±0.5 mg)")
    assert holds(asked, "Check weight: E2 50 g; Acceptable reading: 49.9997 g to 50.0003 g")


def test_the_date_of_the_event_asked():
    asked = asked_for("When was the mold trend investigation closed?")
    assert not holds(asked, "You did not open a trend investigation until August 27, 2025.")
    assert holds(asked, "The trend investigation was closed on October 2, 2025.")


def test_more_ways_of_asking_a_kind():
    assert asked_for("what CO2 pressure goes into the solenoid?").kind == "pressure"
    assert asked_for("Which recall class (I, II or III) is it?").kind == "classification"
    assert asked_for("DIY incubator - how tight does it hold temp, plus/minus?").kind \
        == "criterion"
    assert asked_for("new carcinogen in the lab - who's on the hook for the SOP?").kind == "role"
    assert asked_for("robbins autoclave cycle 5 - what's it for?").kind == "code_meaning"
    assert asked_for("What fine applies to shipping an adulterated drug?").kind == "measure"


def test_a_code_s_digits_are_no_measure():
    asked = asked_for("bioreactor CO2 - at what deviation from setpoint does it alarm?")
    assert not holds(asked, "The bioreactor alarms on a CO2 deviation from the setpoint.")
    assert holds(asked, "The bioreactor alarms on a CO2 deviation of 0.5 % from the setpoint.")
