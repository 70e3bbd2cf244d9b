"""The "Check a text" panel in a real browser (Debian's Chromium driven by Playwright) against
`copilot serve --login` over the demo plant, and its handler called through gradio_client by a
role that may not use it. Screenshots go where tests/test_ui_browser.py puts them
(COPILOT_TEST_SCREENSHOTS); look at them after a change to the panel."""

from __future__ import annotations

import re

import pytest
from conftest import UI_PASSWORD
from playwright.sync_api import expect
from test_ui_browser import browser, log_in, page, shot, tab_names  # noqa: F401 - fixtures

from guardrails import AuditTrail

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHECK_TIMEOUT_MS = 180_000  # the first check loads the verifier's embedder on 2 busy cores
DRAFT = ("The leak rate must not exceed 1.3 mbar/min. "
         "Do not exceed a total load mass of 54 kg. "
         "Sterilised packs must be used within 14 days.")


def _trail(home) -> AuditTrail:
    return AuditTrail(home / "audit" / "audit.sqlite")


def test_qa_checks_a_draft_against_a_document_and_sees_each_verdict(ui_server, page):  # noqa: F811
    url, home = ui_server
    log_in(page, url, "quinn")
    assert "Check a text" in tab_names(page)
    page.get_by_role("tab", name="Check a text").click()
    page.locator("#check-text textarea").fill(DRAFT)
    page.locator("#check-doc input").click()
    # The document list is filled for the user when the tab opens.
    page.get_by_role("option", name="SOP-STE-001 rev 5", exact=False).click()
    expect(page.locator("#check-doc input")).to_have_value(re.compile("^SOP-STE-001 rev 5"))
    page.locator("#check-doc ul.options").wait_for(state="hidden")  # the menu closed
    shot(page, "qa-check-draft")
    page.locator("#check-run").click()
    sentences = page.locator("#check-result .check-sentence")
    sentences.first.wait_for(timeout=CHECK_TIMEOUT_MS)
    assert sentences.count() == 3
    verdict = page.locator("#check-result .check-verdict").inner_text()
    assert "2 of 3 sentences not supported" in verdict
    kept, changed, invented = (sentences.nth(i).inner_text() for i in range(3))
    assert "✔ supported" in kept and "Cited passage: SOP-STE-001 rev 5" in kept
    assert "1.3 mbar/min" in kept.split("Cited passage", 1)[1]  # the passage, verbatim
    assert "not supported" in changed and "Reason:" in changed and "54" in changed
    assert "Closest passage" in changed and "45 kg" in changed
    assert "not supported" in invented and "14" in invented
    shot(page, "qa-check-result")
    [record] = [r for r in _trail(home).records(user="quinn", action="search")
                if r.details.get("kind") == "check_text"][-1:]
    assert record.details["doc"] == "SOP-STE-001"
    assert [s["supported"] for s in record.details["sentences"]] == [True, False, False]


def test_an_operator_has_no_check_tab_and_its_handler_refuses_them(ui_server, page):  # noqa: F811
    url, home = ui_server
    log_in(page, url, "olga")
    assert "Check a text" not in tab_names(page)
    shot(page, "operator-no-check-tab")

    from gradio_client import Client

    denied_before = len(_trail(home).records(user="olga", action="access_denied"))
    client = Client(url + "/", auth=("olga", UI_PASSWORD), verbose=False)
    shown = client.predict(DRAFT, "SOP-STE-001", api_name="/check_text")
    assert "may not use check" in shown
    assert "check-sentence" not in shown and "1.3 mbar/min" not in shown
    denied = _trail(home).records(user="olga", action="access_denied")
    assert len(denied) == denied_before + 1
    assert denied[-1].details["tab"] == "check" and denied[-1].details["target"] == "SOP-STE-001"
    assert not [r for r in _trail(home).records(user="olga", action="search")
                if r.details.get("kind") == "check_text"]
