"""The app's HTTP API through `gradio_client`, against a running `copilot serve --login`:
endpoints answer with log-in, refuse without it, and enforce roles on the server side."""

from __future__ import annotations

import pytest
from conftest import UI_PASSWORD

pytestmark = pytest.mark.slow


def client(url: str, name: str | None):
    from gradio_client import Client

    return Client(url + "/", auth=(name, UI_PASSWORD) if name else None, verbose=False)


def test_without_login_the_api_is_closed(ui_server):
    url, _ = ui_server
    with pytest.raises(Exception, match="(?i)login|credentials"):
        client(url, None)
    with pytest.raises(Exception, match="(?i)login|credentials|incorrect"):
        from gradio_client import Client
        Client(url + "/", auth=("olga", "not-her-password"), verbose=False)


def test_operator_asks_through_the_api_and_gets_a_cited_answer(ui_server):
    url, _ = ui_server
    # Outputs: the chat history and the question box (session state stays server-side).
    history, _ = client(url, "olga").predict(
        "What is the exposure time of the porous load cycle P1 on AC-02?", [], api_name="/ask")
    shown = str(history[-1]["content"])
    assert "verify against the controlled copy" in shown
    assert "SOP-STE-001 rev 5" in shown and "20 min" in shown


def test_roles_are_enforced_by_the_server_not_only_by_hidden_tabs(ui_server):
    url, _ = ui_server
    refused = client(url, "olga").predict("failed system suitability on HPLC-05",
                                          api_name="/similar_deviations")
    assert "may not use deviations" in refused
    found = client(url, "quinn").predict("failed system suitability on HPLC-05",
                                         api_name="/similar_deviations")
    assert "DEV-2026-011" in found  # QA sees the restricted report
    assert "Audit trail intact" in client(url, "adam").predict(api_name="/verify_chain")
    with pytest.raises(Exception, match="may not use admin"):
        client(url, "olga").predict(api_name="/verify_chain")
