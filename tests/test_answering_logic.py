"""Orchestration of one answer's model summary, with the package's scripted chat backend
(`copilot.llm.ScriptedBackend`) and synthesis on.

Everything else is real (embedder, Chroma, BM25, verifier); only the model's words are
scripted, so each outcome of the pipeline can be forced and checked. Whatever the model
writes, the evidence card stands; only verified sentences are added to it.
"""

from copilot.grounding import GroundingVerifier
from copilot.llm import ScriptedBackend
from copilot.pipeline import AnswerPipeline, AnswerPolicy
from copilot.prompting import PromptTemplate
from guardrails import demo_user


def pipeline_saying(kb, text: str, policy: AnswerPolicy | None = None,
                    **verifier_options) -> AnswerPipeline:
    backend = ScriptedBackend([text])
    return AnswerPipeline(kb, backend, GroundingVerifier(kb.embedder, **verifier_options),
                          PromptTemplate.load(), policy or AnswerPolicy(synthesis=True))


QUESTION = "Autoclave AC-02 stopped with alarm E-22, what now?"


def test_supported_sentences_are_kept_and_invented_ones_dropped(demo_copilot):
    kb = demo_copilot.kb
    hits = kb.search(QUESTION, k=4)
    n = next(i for i, h in enumerate(hits, start=1) if "do not open the door" in h.text.lower())
    text = (f"On E-22, do not open the door to the clean side; leave the load in the chamber "
            f"[{n}]. Then restart the cycle at 134 °C for 3 min [{n}].")
    answer = pipeline_saying(kb, text).answer(QUESTION, role="operator")
    assert answer.status == "quoted" or answer.status == "grounded"
    assert "134" not in answer.text  # the invented setpoint never reaches the user
    assert "134" in answer.draft  # but the audit keeps what the model wrote
    dropped = [s for s in answer.sentences if "134" in s.text]
    assert dropped and not dropped[0].supported and "134" in dropped[0].missing_terms


def test_grounded_answer_keeps_verified_sentence_with_its_citation(demo_copilot):
    kb = demo_copilot.kb
    hits = kb.search(QUESTION, k=4)
    n = next(i for i, h in enumerate(hits, start=1) if "do not open the door" in h.text.lower())
    text = (f"On E-22, do not open the door to the clean side and leave the load in the chamber "
            f"[{n}].")
    answer = pipeline_saying(kb, text).answer(QUESTION, role="operator")
    assert answer.status == "grounded" and answer.summary
    cited = next(c for c in answer.citations if c.n == n)
    assert "do not open the door" in cited.quote.lower()
    assert answer.text.startswith("Summary, verified against the sources:")


def test_uncited_copied_sentence_is_cited_and_prompt_echo_not_counted(demo_copilot):
    kb = demo_copilot.kb
    hits = kb.search(QUESTION, k=4)
    n, hit = next((i, h) for i, h in enumerate(hits, start=1)
                  if "do not open the door" in h.text.lower())
    copied = next(line.strip() for line in hit.text.splitlines()
                  if "do not open the door" in line.lower())
    copied = copied.lstrip("0123456789.-* ")
    # A small model's typical draft: the prompt's last line echoed, then a step copied
    # word for word without its marker, then the next question echoed (which the stop
    # sequence "Question:" cuts off, as llama.cpp does; the scripted backend honours it).
    text = (f"Answer (every sentence ends with its source number, like [1]):\n{copied}\n"
            f"Question: and if it happens again?")
    answer = pipeline_saying(kb, text, min_repair_coverage=0.9).answer(QUESTION, role="operator")
    assert answer.status == "grounded", [s.reason for s in answer.sentences]
    assert f"[{n}]" in answer.text and "Question:" not in answer.text
    assert n in [c.n for c in answer.citations]
    repaired = [s for s in answer.sentences if s.citation_added]
    assert len(repaired) == 1 and repaired[0].supported
    assert "Question:" not in answer.draft
    assert sum(s.scaffold for s in answer.sentences) == 1  # the echoed prompt line


def test_an_unverifiable_summary_leaves_the_card_alone(demo_copilot):
    answer = pipeline_saying(demo_copilot.kb, "Open the door and re-run the load.").answer(
        QUESTION, role="operator")
    assert answer.status == "quoted" and not answer.summary
    assert "Open the door and re-run" not in answer.text
    assert answer.text.startswith("From the documents:")  # no apology, nothing about the model
    quotes = {c.n: c.quote for c in answer.citations}
    assert all(line.text in quotes[line.n] for line in answer.evidence)
    assert "E-22" in answer.evidence[0].text


INVENTED = ("Open the door at once. Wipe the chamber with ethanol. Call the vendor hotline. "
            "Re-run the load at 134 °C. Sign the form for your colleague. Leave early today.")


def test_generation_stops_after_three_unverifiable_sentences(demo_copilot):
    answer = pipeline_saying(demo_copilot.kb, INVENTED,
                             AnswerPolicy(abandon_after_failures=3, synthesis=True)).answer(
                                 QUESTION, "operator")
    assert answer.status == "quoted" and "abandoned_at" in answer.timings
    assert "Re-run the load" in answer.draft or "Call the vendor" in answer.draft
    assert "Leave early today" not in answer.draft  # the model was stopped before


def test_generation_stops_when_the_model_loops_without_ending_a_sentence(demo_copilot):
    looping = "Check all water is in the system, " * 60 + "and finally stop [1]."
    answer = pipeline_saying(demo_copilot.kb, looping,
                             AnswerPolicy(abandon_after_failures=3, synthesis=True)).answer(
                                 QUESTION, "operator")
    assert answer.status == "quoted" and "abandoned_at" in answer.timings
    assert "finally stop" not in answer.draft and len(answer.draft) < 1300


def test_invented_source_lists_count_as_failures(demo_copilot):
    invented = "\n".join(f"[{n}] SOP-WAT-007 rev {n}, 6 Procedure" for n in range(1, 9))
    answer = pipeline_saying(demo_copilot.kb, invented,
                             AnswerPolicy(abandon_after_failures=3, synthesis=True)).answer(
                                 QUESTION, "operator")
    assert "abandoned_at" in answer.timings and "rev 8" not in answer.draft


def test_generation_runs_to_the_end_when_abandoning_is_off(demo_copilot):
    answer = pipeline_saying(demo_copilot.kb, INVENTED,
                             AnswerPolicy(abandon_after_failures=0, synthesis=True)).answer(
                                 QUESTION, "operator")
    assert answer.status == "quoted" and "abandoned_at" not in answer.timings
    assert "Leave early today" in answer.draft


def test_unknown_code_is_declined_without_calling_the_model(demo_copilot):
    pipeline = pipeline_saying(demo_copilot.kb, "E-99 means open the door [1].")
    answer = pipeline.answer("What does alarm E-99 on AC-02 mean?", role="operator")
    assert answer.status == "declined" and "E-99" in answer.decline_reason
    assert answer.closest and not answer.citations and answer.draft == ""


def test_off_topic_question_is_declined(demo_copilot):
    answer = pipeline_saying(demo_copilot.kb, "Pizza [1].").answer(
        "Which pizza toppings does the canteen offer on Fridays?", role="operator")
    assert answer.status == "declined"


def test_restricted_documents_never_cited_for_operator(demo_copilot):
    restricted = {d.doc_id for d, _ in demo_copilot.kb.documents() if "operator" not in d.access}
    answer = pipeline_saying(demo_copilot.kb, "NOT FOUND").answer(
        "Who back-dated the HPLC-05 logbook entry?", role=demo_user("operator").role)
    assert not {c.doc_id for c in answer.citations + answer.closest} & restricted


def test_a_sentence_streamed_before_not_found_is_kept_in_the_final_answer(demo_copilot):
    # The model may verify one point and then say it found nothing more: what the stream
    # showed must stay in the answer, and nothing after the marker is shown.
    from copilot.pipeline import AnswerEvent, SentenceEvent

    kb = demo_copilot.kb
    hits = kb.search(QUESTION, k=4)
    n = next(i for i, h in enumerate(hits, start=1) if "do not open the door" in h.text.lower())
    text = (f"On E-22, do not open the door to the clean side and leave the load in the chamber "
            f"[{n}]. NOT FOUND. Restart the cycle at 134 °C [{n}].")
    events = list(pipeline_saying(kb, text).stream(QUESTION, role="operator"))
    streamed = [e.text for e in events if isinstance(e, SentenceEvent)]
    answer = next(e.answer for e in events if isinstance(e, AnswerEvent))
    assert streamed and answer.status == "grounded"
    assert answer.summary == streamed
    assert "134" not in " ".join(streamed) and "134" not in answer.text
    # Generation stops at the marker; the audit keeps what the model wrote up to there.
    assert "NOT FOUND" in answer.draft and "134" not in answer.draft
