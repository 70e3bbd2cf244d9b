"""The UI's pure parts: badges, escaping of document text, and how a picked quiz option is
handed to the grader."""

import pytest

from copilot import Answer, Citation, SourceView
from copilot.training import QuizItem
from copilot.training.grading import grade
from ui.render import answer_markdown, citation_card_html, source_view_html
from ui.training_tab import _answer_value, _options


def _citation(**update) -> Citation:
    base = dict(n=1, chunk_id="c1", doc_id="SOP-X-001", title="Title <b>", doc_type="sop",
                revision="5", status="effective", section="6.4", quote="Step 1 <script>x</script>",
                start=0, end=10)
    return Citation(**{**base, **update})


@pytest.mark.parametrize("status,badge", [("grounded", "Verified"), ("quoted", "Quoted from source"),
                                          ("declined", "Declined"), ("refused", "Refused")])
def test_every_answer_carries_its_badge_and_the_decision_support_label(status, badge):
    text = answer_markdown(Answer(question="q", text="t", status=status))
    assert badge in text and "verify against the controlled copy" in text


def test_document_text_is_escaped_in_cards_and_the_source_viewer():
    card = citation_card_html(_citation())
    assert "<script>" not in card and "&lt;script&gt;" in card and "Title &lt;b&gt;" in card
    view = SourceView(chunk_id="c1", doc_id="D", title="T", revision="1", status="effective",
                      doc_type="sop", section="s", page=3, before="a<", passage="<i>p</i>",
                      after="z")
    html = source_view_html(view)
    assert '<mark class="cited-passage">&lt;i&gt;p&lt;/i&gt;</mark>' in html and "page 3" in html


def _item(kind: str, options: list[str], key: str) -> QuizItem:
    return QuizItem(type=kind, stem="?", options=options, key=key, doc_id="D", revision="1",
                    section="s", quote="q")


@pytest.mark.parametrize("item,pick,correct", [
    (_item("true_false", ["True", "False"], "True"), 0, True),
    (_item("true_false", ["True", "False"], "True"), 1, False),
    (_item("multiple_choice", ["5 min", "20 min"], "20 min"), 1, True),
    (_item("multiple_choice", ["5 min", "20 min"], "20 min"), 0, False),
    (_item("scenario", ["stop", "call QA"], "call QA"), 1, True),
])
def test_a_picked_option_is_graded_as_the_learner_meant_it(item, pick, correct):
    assert grade(item, _answer_value(item, _options(item)[pick])) is correct


def test_typed_answers_pass_through_unchanged():
    numeric = _item("numeric", [], "5 cm")
    assert _answer_value(numeric, "5 cm") == "5 cm" and grade(numeric, "5 cm")
    ordering = _item("ordering", ["b", "a"], "B,A")
    assert grade(ordering, _answer_value(ordering, "B,A"))


def test_a_quoted_table_renders_as_a_table_with_every_cell_escaped():
    from ui.render import quote_html

    shown = quote_html("1. Check the table.\n| Code | Action |\n| --- | --- |\n"
                       "| E-22 | <img src=x> stop |\nAfter the table.")
    assert "<th>Code</th><th>Action</th>" in shown and "<td>E-22</td>" in shown
    assert "&lt;img src=x&gt; stop" in shown and "<img" not in shown
    assert "---" not in shown and shown.startswith("1. Check the table.\n<table")
    assert shown.endswith("</table>After the table.")
