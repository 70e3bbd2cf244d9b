"""The chat-model seam: `ChatBackend.stream(system, user, stop)`; LangChain only in its adapter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from copilot.llm import ChatBackend, ScriptedBackend

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.light
def test_scripted_backend_replies_in_order_honours_stop_and_keeps_the_prompts():
    backend = ScriptedBackend(["Open the valve [1].\nSources: none", "Second."])
    assert isinstance(backend, ChatBackend)
    first = "".join(backend.stream("sys", "question one", stop=["\nSources"]))
    assert first == "Open the valve [1]."
    assert "".join(backend.stream("sys", "question two", stop=[])) == "Second."
    assert backend.prompts == [("sys", "question one"), ("sys", "question two")]
    with pytest.raises(AssertionError, match="no reply left for call 3"):
        list(backend.stream("sys", "question three", stop=[]))


@pytest.mark.light
def test_an_in_process_backend_is_claimed_by_one_question_at_a_time():
    backend = ScriptedBackend(in_process=True)
    with backend.claimed() as first, backend.claimed() as second:
        assert first and not second  # the second question skips its summary, never waits
    with backend.claimed() as again:
        assert again


@pytest.mark.light
def test_langchain_stays_in_the_adapters_of_the_answer_path():
    users = []
    for path in (REPO / "copilot").rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in ast.walk(tree)
                  if isinstance(n, ast.ImportFrom) and n.module and n.level == 0}
        if any(name.split(".")[0].startswith("langchain") for name in names):
            users.append(path.relative_to(REPO).as_posix())
    assert sorted(users) == ["copilot/llm/embedded.py", "copilot/llm/langchain_backend.py",
                             "copilot/llm/remote.py"]
