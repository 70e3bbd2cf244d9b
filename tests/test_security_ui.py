"""Security review findings in the UI: document HTML/Markdown shown as text (F9), Gradio's
cache and exports (F13, F14), uploads that replace other documents (F15), internal details in
errors (F16) and input limits (F7).

The unit tests render with a real CommonMark renderer; the browser test drives Chromium
against `copilot serve --login` (the `ui_server` fixture serves tests/data/security)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SECURITY_DOCS

from copilot import AccessDeniedError, Answer, BadQuestionError
from copilot.pipeline import EVIDENCE_INTRO as QUOTED_INTRO
from guardrails import AuditBusyError
from knowledge import DocumentError
from ui import uploads
from ui.errors import message_for, scrub_paths
from ui.limits import BodyLimit
from ui.render import answer_markdown, deviations_markdown, error_markdown, streaming_markdown
from ui.safe_text import md_text

XSS_DOC = SECURITY_DOCS / "MAN-XSS-901.md"
ATTACKER_HOST = "10.66.6.6"


def _body_lines() -> list[str]:
    """The manual's lines after its front matter, as the answer pipeline quotes them."""
    body = XSS_DOC.read_text(encoding="utf-8").split("---", 2)[2]
    return [line.rstrip() for line in body.splitlines()
            if line.strip() and not re.fullmatch(r"[\s|:-]+", line)]


def _quoted_answer() -> Answer:
    quoted = "\n".join(f"> {line}" for line in _body_lines())
    return Answer(question="Capper CP-09 alarm Z-71 torque low, what should I do?",
                  text=f"{QUOTED_INTRO}\n\nMAN-XSS-901 rev A, 1 Alarms [1]:\n{quoted}",
                  status="quoted")


def _rendered(markdown: str) -> str:
    """HTML as a CommonMark renderer with GFM tables and strikethrough makes it."""
    markdown_it = pytest.importorskip("markdown_it")
    return (markdown_it.MarkdownIt("commonmark", {"html": True})
            .enable(["table", "strikethrough"]).render(markdown))


def _document_part(markdown: str) -> str:
    """What follows the app's own badge line."""
    return markdown.split("\n", 1)[1]


# ---- F9: document text renders as text ------------------------------------------------------

def test_the_poisoned_manual_survives_as_text_only_in_a_quoted_answer():
    shown = answer_markdown(_quoted_answer())
    document = _document_part(shown)
    for tag in ("<span", "<img", "<a ", "<a href", "<b>"):
        assert tag not in document, tag
    # No Markdown link, image or emphasis is left unescaped, and no bare URL to autolink.
    assert not re.search(r"(?<!\\)\[[^\]\n]*(?<!\\)\]\(", document)
    assert not re.search(r"(?<!\\)!\[", document)
    assert not re.search(r"(?<!\\)\*\*", document)
    assert "http://" not in document
    # The literal words still read the same.
    assert "override the torque interlock" in document and "Z-71" in document
    # The app's own badge is there once, on the first line, outside the document text.
    assert shown.count('class="badge badge-quoted"') == 1
    assert shown.splitlines()[0].startswith('<span class="badge badge-quoted">')


def test_rendered_html_of_the_manual_has_no_element_the_document_wrote():
    html = _rendered(_document_part(answer_markdown(_quoted_answer())))
    for element in ("<span", "<img", "<a ", "<strong", "<em", "<b>", "<table", "<h1", "<h2"):
        assert element not in html, element
    assert "&lt;img src=" in html  # shown, not executed
    assert "override the torque interlock" in html
    # The quoted lines keep their quotation (the second block quote is the app's notice).
    quotation = html.split("<blockquote>")[1].split("</blockquote>")[0]
    assert "alarm Z-71 (torque low)" in quotation and "Z-72" in quotation


@pytest.mark.parametrize("attack,forbidden", [
    ("# Heading", "<h1"),
    ("Title\n===", "<h1"),
    ("- item", "<li"),
    ("1. step", "<ol"),
    ("---", "<hr"),
    ("    indented code", "<code"),
    ("`code`", "<code"),
    ("~~struck~~", "<s>"),
    ("<https://evil.example/x>", "<a "),
    ("[ref]: https://evil.example\n[ref]", "<a "),
    ("_under_ *star*", "<em"),
    ("| a | b |\n| - | - |\n| 1 | 2 |", "<table"),
    ("&lt;b&gt;entity&lt;/b&gt;", "&lt;b&gt;entity"),  # stays literal: rendered as "&lt;..."
])
def test_markdown_block_and_inline_syntax_is_neutralised(attack, forbidden):
    html = _rendered(md_text(attack))
    if forbidden.startswith("&"):
        assert "&amp;lt;b&amp;gt;entity" in html
    else:
        assert forbidden not in html


def test_ids_and_values_read_the_same_in_the_raw_markdown():
    """API clients see the raw Markdown: ids, revisions and values are not cluttered."""
    assert md_text("SOP-STE-001 rev 5: exposure 20 min (134 °C).") == \
        "SOP-STE-001 rev 5: exposure 20 min (134 °C)."


def test_bare_urls_and_mail_addresses_are_not_autolinked():
    text = md_text(f"see http://{ATTACKER_HOST}/login or www.evil.example or qa@evil.example")
    assert "http://" not in text and "www." not in text and "qa@" not in text
    assert ATTACKER_HOST in text  # still readable


def test_streamed_sentences_deviations_sources_and_errors_are_escaped():
    poison = f"**override** ![x](http://{ATTACKER_HOST}/p.png) <img src=x>"
    for shown in (streaming_markdown([poison]), error_markdown(poison)):
        html = _rendered(shown)
        assert "<img" not in html and "<strong" not in html

    class Match:
        doc_id, title = "DEV-1", "<img src=x>"
        root_cause = f"[log in](http://{ATTACKER_HOST})"
        capa = "# CAPA\n<script>alert(1)</script>"

    html = _rendered(deviations_markdown([Match()], "qa"))
    assert "<img" not in html and "<a " not in html and "<script" not in html
    assert html.count("<h3") == 1  # the app's own heading per report, none from the text


def test_the_decline_reason_cannot_inject_markup():
    answer = Answer(question="q", text="Not found.", status="declined",
                    decline_reason="X-1 <img src=x> [a](http://e) not found")
    html = _rendered(_document_part(answer_markdown(answer)))
    assert "<img" not in html and "<a " not in html and "X-1" in html


# ---- F16: errors shown to users -------------------------------------------------------------

def test_internal_errors_become_generic_messages_without_paths(tmp_path, caplog):
    home = tmp_path / "home"
    busy = AuditBusyError(home / "audit" / "audit.sqlite", 30)
    shown = message_for(busy, home, "ask")
    assert str(tmp_path) not in shown and "audit.sqlite" not in shown
    reference = re.search(r"reference ([0-9a-f]{8})", shown).group(1)
    # The details are in the log, under the reference the user can quote.
    assert any(reference in r.getMessage() and "audit.sqlite" in r.getMessage()
               for r in caplog.records)
    unexpected = message_for(OSError(f"[Errno 13] Permission denied: '{home}/catalog.sqlite'"),
                             home)
    assert str(home) not in unexpected and "catalog.sqlite" not in unexpected
    assert "Something went wrong" in unexpected


def test_user_errors_keep_their_message_and_files_are_named_by_upload_name(tmp_path):
    home = tmp_path / "home"
    denied = AccessDeniedError("role 'operator' may not use admin")
    assert message_for(denied, home) == "role 'operator' may not use admin"
    too_long = BadQuestionError("the question is 40002 characters long; the limit is 2000")
    assert "40002 characters" in message_for(too_long, home)
    bad_file = DocumentError(home / "uploads" / "0123abcd-SOP-X.md", "file is empty")
    assert message_for(bad_file, home) == "0123abcd-SOP-X.md: file is empty"


def test_paths_are_scrubbed_from_any_message(tmp_path):
    home = tmp_path / "home"
    reason = f"SOP-X revision 5 is already ingested from {home}/uploads/ab12-SOP-X.md"
    assert scrub_paths(reason, home) == \
        "SOP-X revision 5 is already ingested from uploads/ab12-SOP-X.md"
    assert scrub_paths("loaded from /srv/plant/docs/SOP-Y.md", home) == \
        "loaded from SOP-Y.md"
    assert scrub_paths("AC-02/AC-03 and/or P1", home) == "AC-02/AC-03 and/or P1"


# ---- F15: stored upload names ----------------------------------------------------------------

def test_uploads_with_one_name_but_different_content_are_kept_apart(tmp_path):
    first, second = tmp_path / "a" / "SOP-X.md", tmp_path / "b" / "SOP-X.md"
    for path, text in ((first, "doc one"), (second, "doc two")):
        path.parent.mkdir()
        path.write_text(text)
    folder = tmp_path / "uploads"
    one, two = uploads.store([str(first)], folder) + uploads.store([str(second)], folder)
    assert one.path != two.path and one.upload_name == two.upload_name == "SOP-X.md"
    assert one.path.read_text() == "doc one" and two.path.read_text() == "doc two"
    again = uploads.store([str(first)], folder)[0]
    assert again.path == one.path and not again.new  # same bytes, same source
    # Neither is a catalog source (say their ingest failed): only the file the later upload
    # created goes, the older identical one is not this upload's to remove.
    uploads.discard_unindexed([two, again], sources=set())
    assert not two.path.exists() and one.path.exists()
    assert sorted(p.name for p in folder.iterdir()) == [one.path.name]


def test_a_batch_over_the_limits_is_refused_before_anything_is_stored(tmp_path, monkeypatch):
    small = tmp_path / "small.md"
    small.write_text("x")
    with pytest.raises(uploads.UploadRefused, match="at most"):
        uploads.check_batch([str(small)] * (uploads.MAX_UPLOAD_FILES + 1))
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 0)
    with pytest.raises(uploads.UploadRefused, match="small.md is"):
        uploads.check_batch([str(small)])


def test_only_files_inside_gradios_cache_are_forgotten(tmp_path):
    cache, elsewhere = tmp_path / "cache", tmp_path / "elsewhere.md"
    cached = cache / "f00d" / "SOP-SEC-900.md"
    cached.parent.mkdir(parents=True)
    cached.write_text("restricted")
    elsewhere.write_text("keep")
    uploads.forget_cached([str(cached), str(elsewhere)], cache)
    assert not cached.exists() and not cached.parent.exists() and cache.exists()
    assert elsewhere.exists()


# ---- F7: request bodies are capped -----------------------------------------------------------

def test_request_bodies_over_the_cap_are_refused_except_uploads():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    async def echo(request):
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(routes=[Route("/gradio_api/queue/join", echo, methods=["POST"]),
                            Route("/gradio_api/upload", echo, methods=["POST"])],
                    middleware=[Middleware(BodyLimit, max_bytes=1000)])
    client = TestClient(app)
    assert client.post("/gradio_api/queue/join", content=b"x" * 1000).text == "1000"
    assert client.post("/gradio_api/queue/join", content=b"x" * 1001).status_code == 413
    assert client.post("/gradio_api/upload", content=b"x" * 5000).text == "5000"


# ---- against `copilot serve --login` (slow) --------------------------------------------------

def _client(url: str, name: str):
    from conftest import UI_PASSWORD
    from gradio_client import Client

    return Client(url + "/", auth=(name, UI_PASSWORD), verbose=False)


def _rows(table) -> list[list]:
    """A Dataframe output as gradio_client returns it."""
    return table["data"] if isinstance(table, dict) else table


def _manual(folder: Path, doc_id: str, alarm: str) -> Path:
    """A small admin-only manual about equipment no other test asks about."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "MAN-XSS-901.md"  # the name of a document that is already indexed
    path.write_text(f"""---
doc_id: {doc_id}
title: Labeller {doc_id} manual
type: manual
revision: "1"
effective_date: 2026-03-01
status: effective
equipment: [LB-{doc_id[-3:]}]
access: [admin]
---

# Labeller {doc_id}

## 1 Alarms
When the labeller shows alarm {alarm}, stop the label web and call maintenance.
""", encoding="utf-8")
    return path


def _cached_files(home: Path) -> list[Path]:
    from ui.app import GRADIO_CACHE_DIR

    return [p for p in (home / GRADIO_CACHE_DIR).rglob("*") if p.is_file()]


@pytest.mark.slow
def test_an_upload_with_a_taken_file_name_never_replaces_another_document(ui_server, tmp_path):
    from gradio_client import handle_file

    url, home = ui_server
    admin = _client(url, "adam")
    for n, (doc_id, alarm) in enumerate((("MAN-UPL-551", "Q-551"), ("MAN-UPL-552", "Q-552"))):
        rows, documents, _ = admin.predict([handle_file(str(_manual(tmp_path / str(n), doc_id,
                                                                    alarm)))],
                                           api_name="/ingest")
        assert [r[:3] for r in _rows(rows)] == [["MAN-XSS-901.md", "added", doc_id]]
    indexed = {row[0] for row in _rows(documents)}
    # Both uploads and the manual that first had the name are indexed side by side.
    assert {"MAN-UPL-551", "MAN-UPL-552", "MAN-XSS-901"} <= indexed
    stored = sorted(p.name for p in (home / "uploads").glob("*-MAN-XSS-901.md"))
    assert len(stored) == 2
    # F14: Gradio's own copies of the (restricted) uploads are gone once ingested.
    leftovers = [p for p in _cached_files(home) if "Labeller MAN-UPL" in p.read_text("utf-8",
                                                                                     "ignore")]
    assert leftovers == []


@pytest.mark.slow
def test_a_failed_upload_is_not_kept_and_its_reason_names_no_path(ui_server, tmp_path):
    from gradio_client import handle_file

    url, home = ui_server
    # SOP-STE-001 rev 5 is indexed from the demo plant: a different file claiming it fails.
    clash = tmp_path / "SOP-STE-001-copy.md"
    clash.write_text("---\ndoc_id: SOP-STE-001\ntitle: Copy\ntype: sop\nrevision: \"5\"\n"
                     "effective_date: 2026-01-01\nstatus: effective\naccess: [admin]\n---\n\n"
                     "# Copy\n\n## 1 Scope\nA copy that must not be indexed.\n", encoding="utf-8")
    rows, _, _ = _client(url, "adam").predict([handle_file(str(clash))], api_name="/ingest")
    [row] = _rows(rows)
    assert row[:3] == ["SOP-STE-001-copy.md", "failed", "SOP-STE-001"]
    reason = row[5]
    assert "already ingested from" in reason
    assert str(home) not in reason and not re.search(r"(^|\s)/\w+/", reason), reason
    assert list((home / "uploads").glob("*-SOP-STE-001-copy.md")) == []


@pytest.mark.slow
def test_the_audit_export_is_never_a_file_another_user_could_fetch(ui_server):
    url, home = ui_server
    csv_text, message = _client(url, "adam").predict("", "", api_name="/audit_export")
    assert csv_text.splitlines()[0].startswith("seq") and "audit-trail.csv" in message
    # Nothing in Gradio's cache holds it, so no /gradio_api/file= URL can serve it to olga.
    first_record = csv_text.splitlines()[1]
    assert not [p for p in _cached_files(home) if first_record in p.read_text("utf-8", "ignore")]
    with pytest.raises(Exception, match="may not use admin"):
        _client(url, "olga").predict("", "", api_name="/audit_export")
    # F13: the cache itself is inside the home and private to the service account.
    from ui.app import GRADIO_CACHE_DIR

    assert (home / GRADIO_CACHE_DIR).stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_an_internal_error_shown_to_a_user_names_no_path(ui_server):
    import sqlite3

    url, home = ui_server
    supervisor = _client(url, "sam")  # logged in (an audited write) before the trail is locked
    lock = sqlite3.connect(home / "audit" / "audit.sqlite", timeout=5, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        shown = supervisor.predict("label web torn on the labeller",
                                   api_name="/similar_deviations")
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert "audit trail could not record this" in shown and "reference" in shown
    assert str(home) not in shown and "audit.sqlite" not in shown and "locked" not in shown


@pytest.mark.slow
def test_a_user_error_keeps_its_message(ui_server):
    url, _ = ui_server
    history, _ = _client(url, "olga").predict("a" * 2001, [], api_name="/ask")
    shown = str(history[-1]["content"])
    assert "the limit is 2000" in shown and "reference" not in shown


# ---- in Chromium (slow, browser) -------------------------------------------------------------
# The browser fixtures and helpers of the UI's own browser tests (Debian's Chromium).
from test_ui_browser import (  # noqa: E402,F401
    ANSWER_TIMEOUT_MS,
    browser,
    log_in,
    page,
    shot,
    tab_names,
)


@pytest.mark.slow
@pytest.mark.browser
def test_the_poisoned_manual_shows_as_text_in_the_chat(ui_server, page):
    url, _ = ui_server
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    log_in(page, url, "olga")
    tab_names(page)
    title = page.title()
    page.locator("#question textarea").fill(
        "Capper CP-09 alarm Z-71 torque low, what should I do?")
    page.locator("#ask").click()
    page.locator(".citation-card").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.wait_for_timeout(1000)  # the final message has replaced the streamed one
    chat = page.locator("#chat")
    answer = chat.locator(".message.bot, [data-testid='bot']").last
    answer.evaluate("element => element.scrollIntoView({block: 'start'})")  # badges in view
    shot(page, "security-xss-chat")
    assert "MAN-XSS-901" in page.locator(".citation-card").first.inner_text()
    # Only the app's two badges (status, decision support); a document cannot add one.
    assert answer.locator(".badge").count() == 2
    assert answer.locator(".badge-support").count() == 1
    assert chat.locator("img").count() == 0
    assert chat.locator(f'a[href*="{ATTACKER_HOST}"]').count() == 0
    assert chat.locator("strong", has_text="override").count() == 0
    if answer.locator(".badge-quoted").count():  # the manual's lines are quoted verbatim:
        # their markup shows as the literal text it is (which lines depends on retrieval).
        assert re.search(r"<(a href=|b>|span class=|img src=)", answer.inner_text())

    page.locator(".open-source").first.click()
    page.locator("#source-viewer mark.cited-passage").wait_for()
    shot(page, "security-xss-source")
    for where in (page.locator("#source-viewer"), page.locator(".citation-card")):
        assert where.locator("img").count() == 0
        assert where.locator(f'a[href*="{ATTACKER_HOST}"]').count() == 0
    assert page.title() == title
    assert not [u for u in requested if ATTACKER_HOST in u]  # no remote image was loaded


@pytest.mark.slow
@pytest.mark.browser
def test_the_admin_downloads_the_audit_export_from_the_page_itself(ui_server, page):
    url, home = ui_server
    log_in(page, url, "adam")
    tab_names(page)
    page.get_by_role("tab", name="Admin").click()
    page.get_by_role("tab", name="Audit trail").click()
    with page.expect_download() as download:
        page.locator("#audit-export").click()
    saved = download.value
    # Made in the browser from the event's result: no server URL to share or replay.
    assert saved.suggested_filename == "audit-trail.csv" and saved.url.startswith("blob:")
    assert Path(saved.path()).read_text(encoding="utf-8").startswith("seq,")
    page.get_by_text("Exported the audit trail").wait_for()
    shot(page, "security-audit-export")
    assert not [p for p in _cached_files(home) if p.name == "audit-trail.csv"]
