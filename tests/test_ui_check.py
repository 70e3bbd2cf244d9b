"""The "Check a text" feature: `Copilot.check_text` (role, document access, audit) over the
demo plant with the real embedder and verifier, and the panel's HTML (everything escaped).
The panel in a real browser and through gradio_client is in tests/test_ui_check_browser.py."""

from __future__ import annotations

import shutil
import textwrap

import pytest

from copilot import AccessDeniedError, Copilot, CopilotError, Settings
from copilot.text_check import CheckedSentence, TextCheck, checkable_documents
from guardrails import AuditTrail, User
from ui.render import text_check_html

QA, ADMIN, OPERATOR = User("quinn", "qa"), User("adam", "admin"), User("olga", "operator")
# Seen only by admins: QA may not check a text against it, nor be shown its passages.
ADMIN_ONLY_DOC = textwrap.dedent("""\
    ---
    doc_id: SOP-ADM-950
    title: Server Room Access (admin only)
    type: sop
    revision: "2"
    effective_date: 2026-03-01
    status: effective
    access: [admin]
    ---

    # Server Room Access (admin only)

    ## 1 Procedure
    1. Open the server room door with the badge reader and enter the door code 4711-KX.
    2. Record every visit in the server room logbook within 10 minutes of leaving.
    """)


@pytest.fixture(scope="module")
def copilot(demo_home, tmp_path_factory) -> Copilot:
    home = tmp_path_factory.mktemp("check") / "home"
    shutil.copytree(demo_home, home)
    extra = tmp_path_factory.mktemp("admin_docs")
    (extra / "SOP-ADM-950.md").write_text(ADMIN_ONLY_DOC, encoding="utf-8")
    copilot = Copilot.from_settings(Settings(home=home))
    report = copilot.ingest([extra])
    assert not report.failed and report.count("added") == 1, report.files
    return copilot


def _records(copilot: Copilot, user: User, action: str) -> list:
    trail = AuditTrail(copilot.settings.home_dir / "audit" / "audit.sqlite")
    return [r for r in trail.records(user=user.name, action=action)
            if r.details.get("kind") == "check_text" or r.details.get("capability")
            == "check_text"]


def test_qa_checks_a_text_against_a_document(copilot):
    result = copilot.check_text(
        "The leak rate must not exceed 1.3 mbar/min. Do not exceed a total load mass of 54 kg.",
        QA, doc="SOP-STE-001")
    kept, changed = result.sentences
    assert kept.supported and kept.doc == "SOP-STE-001" and kept.revision == "5"
    assert "1.3 mbar/min" in kept.passage  # the cited passage, verbatim
    assert not changed.supported and "54" in changed.reason
    assert changed.passage and "45 kg" in changed.passage  # the closest passage says why
    assert result.supported is False and result.reasons == [changed.reason]
    [record] = _records(copilot, QA, "search")[-1:]
    assert record.details["doc"] == "SOP-STE-001" and record.details["supported"] is False
    assert [s["supported"] for s in record.details["sentences"]] == [True, False]
    assert "54 kg" in record.details["text"]


def test_without_a_document_each_sentence_is_checked_against_its_best_passage(copilot):
    result = copilot.check_text("On alarm E-22, do not open the door to the clean side. "
                                "On alarm E-22, open the door to the clean side.", QA)
    kept, flipped = result.sentences
    assert kept.supported and kept.doc, kept
    assert not flipped.supported and "negation" in flipped.reason


def test_an_operator_may_not_check_a_text_and_the_refusal_is_audited(copilot):
    before = len(_records(copilot, OPERATOR, "access_denied"))
    with pytest.raises(AccessDeniedError):
        copilot.check_text("The leak rate must not exceed 1.3 mbar/min.", OPERATOR,
                           doc="SOP-STE-001")
    assert len(_records(copilot, OPERATOR, "access_denied")) == before + 1
    assert not [r for r in _records(copilot, OPERATOR, "search")]


def test_a_document_the_role_may_not_see_is_neither_used_nor_quoted(copilot):
    claim = "Enter the door code 4711-KX at the server room door."
    # Named: refused with the message an unknown document gets, and audited.
    with pytest.raises(AccessDeniedError) as denied:
        copilot.check_text(claim, QA, doc="SOP-ADM-950")
    with pytest.raises(AccessDeniedError) as unknown:
        copilot.check_text(claim, QA, doc="SOP-NOPE-404")
    assert str(denied.value).replace("SOP-ADM-950", "X") == \
        str(unknown.value).replace("SOP-NOPE-404", "X")
    denials = _records(copilot, QA, "access_denied")
    assert denials[-2].details["doc_id"] == "SOP-ADM-950" and denials[-2].details["indexed"]
    assert denials[-1].details["indexed"] is False
    # Cited inline: refused the same way.
    with pytest.raises(AccessDeniedError):
        copilot.check_text(claim + " [SOP-ADM-950]", QA)
    # Searched: QA's passages never include it; an admin's do.
    for_qa = copilot.check_text(claim, QA).sentences[0]
    assert not for_qa.supported and for_qa.doc != "SOP-ADM-950"
    assert "4711-KX" not in (for_qa.passage or "")
    for_admin = copilot.check_text(claim, ADMIN).sentences[0]
    assert for_admin.supported and for_admin.doc == "SOP-ADM-950"
    assert "SOP-ADM-950" not in [d.doc_id for d in checkable_documents(copilot.kb, "qa")]
    assert "SOP-ADM-950" in [d.doc_id for d in checkable_documents(copilot.kb, "admin")]


def test_bad_input_names_the_problem(copilot):
    with pytest.raises(CopilotError, match="text is empty"):
        copilot.check_text("   ", QA)
    with pytest.raises(CopilotError, match="4000"):
        copilot.check_text("The leak rate is fine. " * 400, QA)
    with pytest.raises(CopilotError, match="no sentences"):
        copilot.check_text("... !!!", QA)


def test_the_panel_escapes_the_text_and_the_passage():
    result = TextCheck(supported=False, reasons=["not in the cited passage: 9 min"], doc=None,
                       sentences=[
                           CheckedSentence(text="<img src=x onerror=alert(1)> wait 9 min",
                                         supported=False,
                                         reason="not in the cited passage: 9 min",
                                         doc="SOP-X-1", revision="3", section="2 <b>Steps</b>",
                                         chunk_id="c1",
                                         passage="| Step | Time |\n|---|---|\n| <script> | 5 min |"),
                           CheckedSentence(text="Fine.", supported=True, reason="supported")])
    shown = text_check_html(result)
    assert "<img" not in shown and "&lt;img" in shown
    assert "<script>" not in shown and "<b>Steps" not in shown
    assert "1 of 2 sentences not supported" in shown
    assert "Closest passage" in shown and "<td>5 min</td>" in shown  # the table as a table
    assert shown.count("check-unsupported") == 1 and shown.count("check-supported") == 1
