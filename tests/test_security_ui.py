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

from copilot import AccessDeniedError, Answer, BadQuestionError, Citation
from copilot.answering import QUOTED_INTRO
from guardrails import AuditBusyError
from knowledge import DocumentError
from ui import uploads
from ui.errors import message_for, scrub_paths
from ui.limits import BodyLimit
from ui.render import (answer_markdown, citations_markdown, deviations_markdown,
                       error_markdown, streaming_markdown)
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
    cite = Citation(n=1, chunk_id="c1", doc_id="MAN-XSS-901", title="T <b>x</b> [l](http://e)",
                    doc_type="manual", revision="A", status="effective", section="**1**",
                    quote="q", start=0, end=1)
    listed = _rendered(citations_markdown(Answer(question="q", text="t", status="declined",
                                                 closest=[cite])))
    assert "<b>x" not in listed and "<a " not in listed and "MAN-XSS-901" in listed

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
    uploads.discard([two, again], {str(two.path), str(again.path)})
    # Only the file this upload created goes; the older identical one stays indexed.
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
