"""Prompt rendering within a token budget (counted here in words: the logic is what's tested)."""

import pytest

from copilot.prompting import PromptTemplate, focus_lines
from knowledge import Hit


def words(text: str) -> int:
    return len(text.split())


PARAGRAPH = ("The load stays in the chamber. The door to the clean side stays closed. "
             "On E-22 the operator informs the shift supervisor. The supervisor calls "
             "maintenance. Maintenance checks the drain strainer before the next cycle.")


@pytest.mark.light
def test_long_paragraph_is_cut_sentence_by_sentence_keeping_the_relevant_one():
    text = focus_lines("What happens on E-22?", PARAGRAPH, budget=12, count=words)
    assert "On E-22 the operator informs the shift supervisor." in text
    assert words(text) <= 12
    assert text != PARAGRAPH


@pytest.mark.light
def test_passage_within_budget_is_kept_whole():
    assert focus_lines("E-22?", "Line one.\nLine two.", budget=50, count=words) == \
        "Line one.\nLine two."


def hit(n: int, text: str) -> Hit:
    return Hit(chunk_id=f"c{n}", doc_id=f"SOP-T-00{n}", title="T", doc_type="sop", revision="1",
               status="effective", section="6 Procedure", text=text, start=0, end=len(text),
               source=f"t{n}.md", score=1.0)


@pytest.mark.light
def test_prompt_stays_near_its_budget_with_many_long_sources():
    template = PromptTemplate.load()
    long_text = "\n".join(f"{i}. Step {i} of the procedure for AC-02 cycle P1 with many words "
                          f"in it to make it long enough." for i in range(1, 30))
    long_text = long_text.replace("7. Step 7 of", "7. Step 7, check the drain strainer, of")
    hits = [hit(n, long_text) for n in range(1, 5)]
    messages, used = template.render("When do I check the drain strainer?", hits, 300, words)
    total = sum(words(content) for _, content in messages)
    assert used == hits
    assert total <= 300 + 4 * 20  # per source at most one line over its share
    assert messages[1][1].count("7. Step 7, check the drain strainer") == 4  # kept in each
    assert messages[1][1].count("12. Step 12") < 4  # while other lines were cut
