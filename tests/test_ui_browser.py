"""The UI in a real browser: Debian's Chromium driven by Playwright, against `copilot serve
--login` over the demo plant with the real models. Screenshots of every flow are saved under
test-output/screenshots (look at them after a change to the UI)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, UI_PASSWORD
from playwright.sync_api import expect

from guardrails import AuditTrail

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SHOTS = Path(os.environ.get("COPILOT_TEST_SCREENSHOTS", REPO / "test-output" / "screenshots"))
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
TABLET = {"width": 1024, "height": 768}
ANSWER_TIMEOUT_MS = 180_000  # one answer on 2 busy cores can take tens of seconds


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        pytest.skip("BROWSER TESTS SKIPPED: Debian's chromium is not installed and `make test` "
                    "could not install it (apt-get install chromium needs root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport=TABLET)
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def log_in(page, url: str, name: str, password: str = UI_PASSWORD) -> None:
    page.goto(url + "/")
    page.get_by_label("username").fill(name)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()


def tab_names(page) -> list[str]:
    page.locator("#who").get_by_text("role").wait_for()
    return [t.strip() for t in page.get_by_role("tab").all_inner_texts()]


def test_operator_asks_sees_streamed_answer_citation_and_source(ui_server, page):
    url, home = ui_server
    log_in(page, url, "olga")
    assert tab_names(page) == ["Ask", "Training"]  # no admin, trainer or deviations tab
    assert "operator" in page.locator("#who").inner_text()
    shot(page, "operator-logged-in")

    page.locator("#question textarea").fill(
        "What is the exposure time of the porous load cycle P1 on AC-02?")
    page.locator("#ask").click()
    # The evidence card comes at once (no model on its path), with badges and source cards.
    card = page.locator(".citation-card").first
    card.wait_for(timeout=ANSWER_TIMEOUT_MS)
    answer = page.locator("#chat").inner_text()
    assert "verify against the controlled copy" in answer
    assert "20 min" in answer  # rev 5's exposure time, quoted or stated
    assert "From the documents" in answer
    assert "SOP-STE-001" in card.inner_text() and "rev 5" in card.inner_text()
    shot(page, "operator-answer")

    page.locator(".open-source").first.click()
    passage = page.locator("#source-viewer mark.cited-passage")
    passage.wait_for()
    assert "SOP-STE-001" in page.locator("#source-viewer").inner_text()
    assert passage.inner_text().strip()
    shot(page, "operator-source-viewer")

    page.locator("#feedback-comment textarea").fill("clear, thanks")
    page.locator("#feedback-up").click()
    page.get_by_text("feedback recorded").wait_for()
    feedback = AuditTrail(home / "audit" / "audit.sqlite").records(user="olga", action="feedback")
    assert feedback and feedback[-1].details["helpful"] is True
    assert feedback[-1].details["comment"] == "clear, thanks"


def test_operator_never_sees_a_restricted_deviation(ui_server, page):
    url, home = ui_server
    log_in(page, url, "olga")
    tab_names(page)
    # DEV-2026-011 (restricted to QA and admin) is exactly about this event.
    page.locator("#question textarea").fill(
        "Were HPLC-05 release results reported after a failed system suitability test, with a "
        "back-dated logbook entry?")
    page.locator("#ask").click()
    page.locator("#chat .badge-support").wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(1000)
    shown = page.locator("body").inner_text()
    assert "DEV-2026-011" not in shown
    assert "Aisha Haddad" not in shown and "KT50-26-0012" not in shown
    shot(page, "operator-restricted")


def test_failed_login_is_refused_and_audited(ui_server, page):
    url, home = ui_server
    log_in(page, url, "olga", "wrong-password-123")
    page.get_by_text("Incorrect", exact=False).wait_for()
    assert page.locator("#who").count() == 0
    shot(page, "login-failed")
    failed = AuditTrail(home / "audit" / "audit.sqlite").records(action="login_failed")
    assert any(r.user == "olga" for r in failed)
    assert all("wrong-password" not in str(r.details) for r in failed)


def test_admin_sees_documents_verifies_and_filters_the_audit_trail(ui_server, page):
    url, _ = ui_server
    log_in(page, url, "adam")
    assert "Admin" in tab_names(page)
    page.get_by_role("tab", name="Admin").click()
    documents = page.locator("#documents")
    # Rows are sorted by doc id (the table renders only the rows in view).
    expect(documents).to_contain_text("DEV-2025-014")
    assert "effective" in documents.inner_text()
    shot(page, "admin-documents")

    page.get_by_role("tab", name="Audit trail").click()
    page.locator("#audit-verify").click()
    page.get_by_text("Audit trail intact").wait_for()
    page.locator("#audit-show").click()
    expect(page.locator("#audit-records")).to_contain_text("login")
    shot(page, "admin-audit")


def test_trainer_builds_and_approves_a_module_and_a_learner_takes_it(ui_server, browser):
    url, home = ui_server
    trainer = browser.new_context(viewport=TABLET).new_page()
    trainer.set_default_timeout(120_000)
    log_in(trainer, url, "tina")
    assert tab_names(trainer) == ["Ask", "Training", "Trainer"]
    trainer.get_by_role("tab", name="Trainer").click()
    trainer.locator("#build-doc input").click()
    trainer.get_by_role("option", name="SOP-CLN-005").click()
    trainer.locator("#build-module").click()
    expect(trainer.locator("#build-result")).to_contain_text("items passed validation")
    expect(trainer.locator("#review-items")).to_contain_text("draft")
    shot(trainer, "trainer-built")
    trainer.locator("#approve-module").click()
    expect(trainer.locator("#approve-result")).to_contain_text("Approved")
    expect(trainer.locator("#review-items")).to_contain_text("approved")
    shot(trainer, "trainer-approved")

    learner = browser.new_context(viewport=TABLET).new_page()
    learner.set_default_timeout(120_000)
    log_in(learner, url, "olga")
    tab_names(learner)
    learner.get_by_role("tab", name="Training").click()
    learner.get_by_role("tab", name="Take a quiz").click()
    expect(learner.locator("#quiz-module input")).to_have_value(re.compile("^SOP-CLN-005 rev"),
                                                                 timeout=30_000)
    learner.locator("#quiz-start").click()
    learner.locator("#quiz-submit").wait_for()
    questions = learner.locator(".quiz-item")
    assert 1 <= questions.count() <= 10
    for i in range(questions.count()):  # the first option everywhere: some right, some wrong
        question = questions.nth(i)
        if question.locator("input[type=radio]").count():
            question.locator("label").first.click()
        else:
            question.locator("textarea, input").first.fill("A")
    learner.locator("#quiz-submit").click()
    result = learner.locator("#quiz-result")
    expect(result).to_contain_text("correct")
    # Immediate feedback cites the source of every item.
    expect(learner.locator("#quiz-feedback")).to_contain_text("Source: SOP-CLN-005 rev")
    shot(learner, "learner-quiz-result")
    submitted = AuditTrail(home / "audit" / "audit.sqlite").records(user="olga",
                                                                     action="quiz_submit")
    assert submitted and submitted[-1].details["module_id"] == "SOP-CLN-005"
    learner.context.close()
    trainer.context.close()
