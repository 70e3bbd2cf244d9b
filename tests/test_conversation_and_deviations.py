"""Follow-ups, the async stream, and similar deviations."""

import asyncio

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from copilot import AccessDeniedError, Settings
from copilot.build import build_copilot
from copilot.conversation import Conversations, is_follow_up, standalone
from copilot.deviations import section_text
from copilot.llm import LangChainBackend
from guardrails import AuditTrail, User


@pytest.mark.parametrize("message, follow", [
    ("and if it happens again?", True),
    ("What about the drying time?", True),
    ("What is the TOC limit for WFI?", False),
    ("TP-07 shows A-31", False),
])
@pytest.mark.light
def test_follow_up_detection(message, follow):
    assert is_follow_up(message) is follow


@pytest.mark.light
def test_standalone_carries_codes_and_topic():
    query = standalone("and if it happens again?", "Autoclave AC-02 stopped with alarm E-22")
    assert "AC-02" in query and "E-22" in query and "happens again" in query
    assert standalone("What is the TOC limit?", "AC-02 E-22") == "What is the TOC limit?"


def _scripted(demo_home, tmp_path, replies):
    settings = Settings(home=demo_home)
    model = GenericFakeChatModel(messages=iter([AIMessage(content=r) for r in replies]))
    return build_copilot(settings,
                         backend=LangChainBackend(model=model, name="scripted", context=4096),
                   audit=AuditTrail(tmp_path / "audit.sqlite"))


def test_chat_follow_up_retrieves_the_same_topic(demo_home, tmp_path):
    copilot = _scripted(demo_home, tmp_path, ["NOT FOUND", "NOT FOUND"])
    first = copilot.chat("s1", "Autoclave AC-02 stopped with alarm E-22, what now?")
    second = copilot.chat("s1", "and if it happens again?")
    assert "E-22" in second.question and not second.declined
    assert set(second.cited_doc_ids()) & {"SOP-STE-001", "MAN-AC-02"}
    assert first.question != second.question


def test_async_stream_yields_the_same_events(demo_home, tmp_path):
    copilot = _scripted(demo_home, tmp_path, ["NOT FOUND"])

    async def collect():
        return [e async for e in copilot.ask_astream("What is the TOC limit for WFI?")]

    events = asyncio.run(collect())
    assert events[-1].kind == "answer" and events[-1].answer.citations


def test_similar_deviations_with_root_cause_and_capa(demo_copilot):
    matches = demo_copilot.similar_deviations(
        "Autoclave aborted with exposure temperature low, condensate in the chamber",
        user=User("quinn", "qa"))
    ids = [m.doc_id for m in matches]
    assert {"DEV-2025-031", "DEV-2026-019"} <= set(ids[:3])
    top = matches[0]
    assert top.root_cause.lower().startswith("root cause") and "|" in top.capa
    assert top.citation.quote and top.citation.doc_id == top.doc_id


def test_operator_may_not_search_deviations_and_the_refusal_is_audited(demo_copilot):
    # The UI hides the tab from operators; the API refuses them as well (permissions table).
    before = len(demo_copilot.audit.records(action="access_denied"))
    with pytest.raises(AccessDeniedError, match="use_similar_deviations"):
        demo_copilot.similar_deviations("E-22 autoclave", user=User("olga", "operator"))
    denied = demo_copilot.audit.records(action="access_denied")
    assert len(denied) == before + 1 and denied[-1].user == "olga"


@pytest.mark.light
def test_section_text_stops_at_next_heading():
    text = "# T\n## 6 Root Cause\nRoot cause: wet steam.\n## 7 CAPA\n| a | b |\n"
    assert section_text(text, "Root Cause") == "Root cause: wet steam."
    assert section_text(text, "CAPA") == "| a | b |"


@pytest.mark.light
def test_conversations_are_bounded_least_recently_used_first():
    store = Conversations(max_conversations=3)
    for n in range(5):
        store.record(f"c{n}", f"question {n}", "answer")
    store.get("c2")  # touched: kept
    store.record("c5", "question 5", "answer")
    assert len(store) == 3
    assert store.get("c2").last_question == "question 2"
    assert store.get("c0").last_question is None  # dropped long ago


def test_ending_a_conversation_forgets_its_turns_and_scrub_session(fresh_copilot):
    session = fresh_copilot.vault.session("tab-1")
    fresh_copilot.conversations.record("tab-1", "AC-02 alarm E-22", "an answer")
    fresh_copilot.end_conversation("tab-1")
    assert fresh_copilot.conversations.get("tab-1").last_question is None
    assert fresh_copilot.vault.session("tab-1") is not session
