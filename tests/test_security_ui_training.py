"""Security review leftovers in the training and admin tabs (#13): document text shown as text
in the training pages (F9), the training matrix export never a served file (F14), what the
training handlers show when something fails (F16), an admin unlocking a locked-out account,
and an ingest that would silently replace one document with another at the same path (F15).

The unit tests render with a real CommonMark renderer; the handler test runs the real app's
handlers in process; the server and browser tests run against `copilot serve --login` (the
session's `ui_server`)."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import UI_PASSWORD

from copilot.training import QuizItem
from copilot.training.items import BuildResult, RejectedItem
from knowledge import KnowledgeBase, SearchFilter
from ui.downloads import save_as_js
from ui.training_tab import build_result_markdown, due_reviews_markdown, ordering_options_markdown

ATTACKER_HOST = "10.66.6.6"
# What a poisoned document line tries: a remote image, a phishing link, bold instructions.
POISON = f"Close <img src=x> the valve, see [link](http://{ATTACKER_HOST}) and **override**"


def _rendered(markdown: str) -> str:
    """HTML as a CommonMark renderer with GFM tables and strikethrough makes it."""
    markdown_it = pytest.importorskip("markdown_it")
    return (markdown_it.MarkdownIt("commonmark", {"html": True})
            .enable(["table", "strikethrough"]).render(markdown))


def _assert_inert(markdown: str) -> str:
    html = _rendered(markdown)
    assert "<img" not in html and "<a " not in html and "<strong>override" not in html, html
    # The text itself still shows, literally.
    assert "&lt;img src=x&gt;" in html and f"[link](http://{ATTACKER_HOST})" in html.replace(
        "\\", "")
    return html


def _item(**fields) -> QuizItem:
    base = dict(type="ordering", stem="Put the steps in order", options=["a", "b"], key="A,B",
                doc_id="MAN-XSS-901", revision="A", section="1 Alarms", quote="a")
    return QuizItem(**{**base, **fields})


# ---- F9: the training pages show document text as text --------------------------------------

def test_ordering_options_are_shown_as_text():
    item = _item(options=[POISON, "# Heading that is not one", "Seal the door"])
    markdown = ordering_options_markdown(item)
    html = _assert_inert(markdown)
    assert html.count("<li>") == 3 and "<h1>" not in html
    assert "A) Close" in html and "C) Seal the door" in html


def test_due_reviews_escape_stem_doc_id_and_revision():
    queue = [_item(type="numeric", stem=POISON, options=[], key="1",
                   doc_id="MAN-<b>X</b>", revision="[r](http://10.66.6.6/r)")]
    html = _assert_inert(due_reviews_markdown(queue))
    assert "<b>" not in html and html.count("<li>") == 1
    assert "Reviews due today:</strong> 1 item(s)" in html  # the app's own bold stays


def test_a_stem_with_line_breaks_stays_one_list_item():
    html = _rendered(due_reviews_markdown([_item(stem="first\n# second\n- third")]))
    assert html.count("<li>") == 1 and "<h1>" not in html and "first # second - third" in html


def test_rejected_stems_and_reasons_are_shown_as_text():
    result = BuildResult(module_id="MOD-1", doc_id="MAN-XSS-901", revision="A",
                         items=[], rejected=[RejectedItem(item=_item(stem=POISON),
                                                          reason=f"duplicate of {POISON}")])
    html = _assert_inert(build_result_markdown(result))
    assert html.count("&lt;img src=x&gt;") == 2
    assert "<strong>Module MOD-1</strong>" in html and "1 rejected" in html


def test_the_export_script_saves_the_named_file_and_takes_only_plain_names():
    script = save_as_js("training-matrix.csv")
    assert 'link.download = "training-matrix.csv"' in script and 'return "";' in script
    for bad in ('x".js', "../x.csv", "", "a b.csv"):
        with pytest.raises(ValueError):
            save_as_js(bad)


# ---- F15: a file at a known path that now declares another document --------------------------

def _doc(path: Path, doc_id: str, words: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""---
doc_id: {doc_id}
title: Labeller {doc_id} manual
type: manual
revision: "1"
effective_date: 2026-03-01
status: effective
access: [admin]
---

# Labeller {doc_id}

## 1 Alarms
When the labeller shows {words}, stop the label web and call maintenance.
""", encoding="utf-8")
    return path


def test_a_changed_doc_id_behind_a_path_is_refused_and_nothing_is_lost(tmp_path, embedder):
    home = tmp_path / "home"
    kb = KnowledgeBase(home, embedder)
    held = _doc(home / "uploads" / "x.md", "MAN-XSS-901", "alarm Q-901 quokka")
    assert [r.status for r in kb.ingest([held]).files] == ["added"]

    _doc(held, "MAN-OTHER-555", "alarm Q-555 wombat")  # same path, another document
    other = _doc(home / "uploads" / "y.md", "MAN-NEXT-556", "alarm Q-556 numbat")
    report = kb.ingest([held, other])

    refused, added = report.files
    assert (refused.status, refused.doc_id) == ("failed", "MAN-OTHER-555")
    assert refused.reason == ("uploads/x.md held MAN-XSS-901; the new file declares "
                              "MAN-OTHER-555: ingest it under another file name, or remove the "
                              "old document first")
    assert (added.status, added.doc_id) == ("added", "MAN-NEXT-556")  # the batch went on
    indexed = {d.doc_id for d, _ in kb.documents()}
    assert indexed == {"MAN-XSS-901", "MAN-NEXT-556"}
    hits = kb.search("labeller alarm quokka", k=1, filters=SearchFilter(role="admin"))
    assert hits[0].doc_id == "MAN-XSS-901" and "quokka" in hits[0].text
    assert kb.vectors.count() == len(kb.catalog.all_chunks())

    # The same doc id at that path is still an ordinary update.
    _doc(held, "MAN-XSS-901", "alarm Q-901 quokka and Q-902")
    assert [r.status for r in kb.ingest([held]).files] == ["updated"]


def test_the_already_ingested_reason_names_no_absolute_path(tmp_path, embedder):
    home = tmp_path / "home"
    kb = KnowledgeBase(home, embedder)
    outside = _doc(tmp_path / "plant" / "manuals" / "first.md", "MAN-OUT-1", "alarm O-1")
    inside = _doc(home / "uploads" / "ab12-first.md", "MAN-IN-2", "alarm I-2")
    kb.ingest([outside, inside])
    copies = [_doc(tmp_path / "copies" / "a.md", "MAN-OUT-1", "alarm O-1 again"),
              _doc(tmp_path / "copies" / "b.md", "MAN-IN-2", "alarm I-2 again")]
    reasons = [r.reason for r in kb.ingest(copies).failed]
    assert reasons == ["MAN-OUT-1 revision 1 is already ingested from first.md",
                       "MAN-IN-2 revision 1 is already ingested from uploads/ab12-first.md"]
    assert not [r for r in reasons if str(tmp_path) in r or re.search(r"(^|\s)/\w+/", r)]


# ---- F16: what the training handlers show when something fails -----------------------------

def _handler(app, name: str):
    """The function Gradio runs for the event handler called `name` (as wrapped by the tab)."""
    [fn] = [f.fn for f in app.fns.values() if f.name == name]
    return fn


def test_training_errors_keep_user_messages_and_hide_internal_ones(fresh_copilot, demo_copy):
    import sqlite3

    from ui.app import build_app

    copilot = fresh_copilot
    assert not copilot.ingest([demo_copy / "sops" / "SOP-STE-001_rev5.md"]).failed
    app = build_app(copilot, demo_mode=True)  # demo mode: the role comes from the argument
    build_module = _handler(app, "build_module")
    approve_all = _handler(app, "approve_all")

    shown, _ = approve_all("MOD-NOPE-000", "trainer", None)
    assert shown.startswith("⚠️") and "unknown quiz module" in shown
    assert "MOD-NOPE-000" in shown and "reference" not in shown

    copilot.audit.timeout = 0.5  # the trail's busy wait, cut from 30 s for the test
    home = copilot.settings.home_dir
    lock = sqlite3.connect(home / "audit" / "audit.sqlite", timeout=5, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")
        shown, _ = build_module("SOP-STE-001", "", "trainer", None)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert shown.startswith("⚠️") and "audit trail could not record this" in shown
    assert "reference" in shown
    assert str(home) not in shown and "audit.sqlite" not in shown and "locked" not in shown


# ---- against `copilot serve --login` (slow) --------------------------------------------------

def _client(url: str, name: str, password: str = UI_PASSWORD):
    from gradio_client import Client

    return Client(url + "/", auth=(name, password), verbose=False)


def _rows(table) -> list[list]:
    """A Dataframe output as gradio_client returns it."""
    return table["data"] if isinstance(table, dict) else table


def _cached_files(home: Path) -> list[Path]:
    from ui.app import GRADIO_CACHE_DIR

    return [p for p in (home / GRADIO_CACHE_DIR).rglob("*") if p.is_file()]


def _post_login(url: str, name: str, password: str, client: str) -> int:
    """Gradio's login form, from `client` (X-Forwarded-For from loopback is trusted, as for a
    TLS proxy on the host): no other test's logins from 127.0.0.1 are slowed down."""
    data = urllib.parse.urlencode({"username": name, "password": password}).encode()
    request = urllib.request.Request(url + "/login", data=data,
                                     headers={"X-Forwarded-For": client})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_the_training_matrix_export_is_text_never_a_served_file(ui_server):
    url, home = ui_server
    csv_text, message = _client(url, "tina").predict("", api_name="/matrix_csv")
    lines = csv_text.splitlines()
    assert lines[0] == "user,role,document,title,state,effective rev,trained rev,last passed,due"
    assert any(line.startswith("olga,operator,") for line in lines[1:])
    assert "training-matrix.csv" in message
    # No copy in Gradio's cache, so no /gradio_api/file= URL can serve it to another user.
    assert not [p for p in _cached_files(home)
                if p.name == "training-matrix.csv" or lines[1] in p.read_text("utf-8", "ignore")]
    with pytest.raises(Exception, match="may not use trainer"):
        _client(url, "olga").predict("", api_name="/matrix_csv")  # an operator is no trainer


@pytest.mark.slow
def test_a_refused_training_call_gets_its_message_not_a_bare_error(ui_server):
    url, _ = ui_server
    with pytest.raises(Exception) as refused:
        _client(url, "olga").predict("", api_name="/matrix_rows")
    # Through ui.errors: show_error=False would otherwise leave only "Error".
    assert "may not use trainer" in str(refused.value)


@pytest.mark.slow
def test_an_admin_unlocks_an_account_locked_by_failed_logins(ui_server):
    from guardrails import UserStore

    url, home = ui_server
    name, password = "ulla-unlock", "Ulla-pw-2026"
    adam = _client(url, "adam")
    table, message, _ = adam.predict(name, "operator", password, "admin", api_name="/user_add")
    assert [name, "operator", False, False] == _rows(table)[
        [r[0] for r in _rows(table)].index(name)][:4]

    codes = [_post_login(url, name, "not-her-password", "203.0.113.41") for _ in range(10)]
    assert codes == [400] * 10
    assert _post_login(url, name, password, "203.0.113.41") == 400  # locked: even the right one
    assert UserStore(home / "users.sqlite").get(name).locked

    # The users table shows the lock; a role change does not lift it.
    table, _, _ = adam.predict(name, "trainer", "", "admin", api_name="/user_role")
    row = next(r for r in _rows(table) if r[0] == name)
    assert row[1:4] == ["trainer", False, True]

    with pytest.raises(Exception, match="may not use admin"):  # checked by the server
        _client(url, "olga").predict(name, "operator", "", "admin", api_name="/user_unlock")
    assert UserStore(home / "users.sqlite").get(name).locked

    table, message, _ = adam.predict(name, "operator", "", "admin", api_name="/user_unlock")
    assert f"{name} is unlocked" in message.replace("\\", "")
    assert next(r for r in _rows(table) if r[0] == name)[3] is False
    assert not UserStore(home / "users.sqlite").get(name).locked
    assert _post_login(url, name, password, "203.0.113.42") == 200  # she may log in again


# ---- in Chromium (slow, browser) -------------------------------------------------------------
# The browser fixtures and helpers of the UI's own browser tests (Debian's Chromium).
from test_ui_browser import browser, log_in, page, shot, tab_names  # noqa: E402,F401


@pytest.mark.slow
@pytest.mark.browser
def test_the_trainer_downloads_the_matrix_from_the_page_itself(ui_server, page):
    url, home = ui_server
    log_in(page, url, "tina")
    tab_names(page)
    page.get_by_role("tab", name="Trainer").click()
    page.get_by_role("tab", name="Training matrix").click()
    with page.expect_download() as download:
        page.locator("#matrix-export").click()
    saved = download.value
    # Made in the browser from the event's result: no server URL to share or replay.
    assert saved.suggested_filename == "training-matrix.csv" and saved.url.startswith("blob:")
    assert Path(saved.path()).read_text(encoding="utf-8").startswith("user,role,document,")
    page.get_by_text("Exported the training matrix").wait_for()
    shot(page, "security-matrix-export")
    assert not [p for p in _cached_files(home) if p.name == "training-matrix.csv"]
