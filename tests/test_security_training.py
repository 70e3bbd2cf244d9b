"""Security review 2026-12, F1, F5 and F11 (training part), replayed as the review ran them.

F1: a QA-only SOP (SOP-SEC-900, holding SECRET-CODE-7731) must never reach a trainer or an
operator through training: not by building a module, nor by listing, taking, grading,
reviewing or scheduling one. F5: knowledge gaps must not show a trainer QA-only documents or
the questions QA asked about them. F11: the training matrix CSV must not carry formulas.

Real parts throughout: the demo plant's Chroma index and embedder, the SQLite training store
and audit trail, the `copilot` CLI in a subprocess, and the served app through gradio_client.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SECURITY_DOCS, UI_PASSWORD
from typer.testing import CliRunner

from copilot import AccessDeniedError, Copilot, Settings
from copilot.cli import app
from copilot.training import TrainingService, UnknownDocumentError
from copilot.training.csv_safe import FORMULA_STARTS, csv_cell
from copilot.training.store import TrainingStore
from guardrails import AuditTrail, User
from knowledge import SearchFilter

SEC = "SOP-SEC-900"
SECRET = "SECRET-CODE-7731"
SEC_TITLE = "Confidential QA Release Procedure (QA only)"
DEV = "DEV-2026-011"  # a QA-only deviation report of the demo plant
HPLC_QUESTION = ("HPLC-05 results reported after failed system suitability back-dated logbook "
                 "entry KT50-26-0012")

TINA = User("tina", "trainer")
QUINN = User("quinn", "qa")
OLGA = User("olga", "operator")


def _shows_restricted(value) -> bool:
    """Whether anything in a result (models, lists, strings) names or quotes SOP-SEC-900."""
    text = json.dumps(value, default=lambda o: o.model_dump() if hasattr(o, "model_dump")
                      else str(o), ensure_ascii=False)
    return any(marker in text for marker in (SEC, SECRET, SEC_TITLE, "vault code"))


def _wrong(item) -> str:
    if item.type == "true_false":
        return "False" if item.key == "True" else "True"
    if item.type == "ordering":
        return ",".join(sorted(item.key.split(",")))  # the shown order is never the key
    if item.type == "numeric":
        return "99999"
    return next(o for o in item.options if o != item.key)


@pytest.fixture(scope="module")
def secured_home(demo_home, tmp_path_factory) -> Path:
    """The demo plant plus the review's QA-only SOP, as the review's server had it."""
    home = tmp_path_factory.mktemp("security_training") / "home"
    # Without the demo home's audit trail: this home starts its own, so the audit records the
    # tests below look for are only those this module wrote.
    shutil.copytree(demo_home, home, ignore=shutil.ignore_patterns("audit"))
    report = Copilot.from_settings(Settings(home=home)).ingest([SECURITY_DOCS / f"{SEC}.md"])
    assert report.count("added") == 1, report.files
    return home


@pytest.fixture(scope="module")
def secured(secured_home) -> Copilot:
    return Copilot.from_settings(Settings(home=secured_home))


@pytest.fixture()
def service(secured, tmp_path) -> TrainingService:
    """A training service over the secured index with its own records and audit trail, so
    each test sees only what it did."""
    return TrainingService(secured.kb, AuditTrail(tmp_path / "audit" / "audit.sqlite"),
                           tmp_path / "training.sqlite")


def _qa_module(service: TrainingService) -> str:
    built = service.build_module(SEC, user=QUINN)
    # The attack needs the secret to be in the items: QA's module really quotes it.
    assert any(SECRET in i.quote for i in built.items)
    service.approve(built.module_id, QUINN)
    return built.module_id


# -- F1 at the service ---------------------------------------------------------------------

def test_trainer_is_refused_a_module_from_a_qa_only_sop(service):
    with pytest.raises(AccessDeniedError) as refused:
        service.build_module(SEC, user=TINA)
    message = str(refused.value)
    assert f"tina (role trainer) may not build a quiz from {SEC}" in message
    assert "role trainer is not in its access list" in message and SECRET not in message
    assert service.store.module(SEC) is None and not service.store.items(doc_id=SEC)
    denied = service.audit.records(action="access_denied")
    assert [(r.user, r.details["doc_id"]) for r in denied] == [("tina", SEC)]
    # A mistyped id must not list the restricted document as a suggestion either.
    with pytest.raises(UnknownDocumentError) as unknown:
        service.build_module("SOP-SCE-900", user=TINA)
    assert "SEC" not in str(unknown.value) and "SOP-QA-010" in str(unknown.value)
    assert SEC not in service.trainable_documents(TINA)
    assert SEC in service.trainable_documents(QUINN)


def test_an_approved_qa_module_never_reaches_an_operator_or_a_trainer(service):
    module = _qa_module(service)
    items = service.questions(module, QUINN)
    # QA takes it and gets every item wrong: QA's own records and reviews hold it (the
    # control that shows the operator's empty views below are filtered, not just empty).
    service.submit(QUINN, module, {i.item_id: _wrong(i) for i in items})
    assert {i.doc_id for i in service.review_queue(QUINN)} == {SEC}
    assert [r.module_id for r in service.history(QUINN)] == [module]

    # The review's operator: no module listed, no stems, no grading, no keys, no quotes.
    assert service.modules(OLGA) == []
    for attempt in (lambda: service.questions(module, OLGA),
                    lambda: service.module(module, OLGA),
                    lambda: service.items(module, OLGA),
                    lambda: service.item(items[0].item_id, OLGA),
                    lambda: service.submit(OLGA, module, {i.item_id: i.key for i in items}),
                    lambda: service.submit_review(OLGA, items[0].item_id, items[0].key),
                    lambda: service.record_read_and_understand(OLGA, SEC)):
        with pytest.raises(AccessDeniedError) as refused:
            attempt()
        assert SECRET not in str(refused.value)
    assert service.store.results(user="olga") == [] and service.store.attempts("olga") == []

    # Cards or results the operator holds from before (e.g. taken before this fix) stay out
    # of her review queue and history.
    service.scheduler.review("olga", items[0].item_id, items[0].type, False, None)
    service.store.add_result(service.history(QUINN)[0].model_copy(
        update={"user": "olga", "role": "operator", "answers": []}))
    assert service.review_queue(OLGA) == [] and service.history(OLGA) == []

    # The trainer can neither see nor act on QA's module.
    assert module not in [m.module_id for m in service.modules(TINA)]
    for attempt in (lambda: service.items(module, TINA),
                    lambda: service.approve(module, TINA),
                    lambda: service.retire([items[0].item_id], TINA, "probing")):
        with pytest.raises(AccessDeniedError):
            attempt()
    assert service.item(items[0].item_id, QUINN).status == "approved"  # not retired
    denied = {(r.user, r.details["doc_id"]) for r in service.audit.records(action="access_denied")}
    assert denied == {("olga", SEC), ("tina", SEC)}


def test_narrowing_a_documents_access_applies_to_modules_built_before(fresh_copilot, tmp_path):
    """Access is the catalog's, not a copy on the module: a revision re-issued as QA-only
    takes its module, the operator's due reviews and her history with it at once."""
    source = tmp_path / "plant" / "SOP-SEC-950.md"
    source.parent.mkdir()
    text = (SECURITY_DOCS / f"{SEC}.md").read_text(encoding="utf-8").replace(SEC, "SOP-SEC-950")
    source.write_text(text.replace("access: [qa, admin]",
                                   "access: [operator, supervisor, qa, trainer, admin]"), "utf-8")
    copilot = fresh_copilot
    assert not copilot.ingest([source]).failed
    service = copilot.training
    module = service.build_module("SOP-SEC-950", user=TINA).module_id
    service.approve(module, TINA)
    items = service.questions(module, OLGA)
    service.submit(OLGA, module, {i.item_id: _wrong(i) for i in items})
    assert service.review_queue(OLGA) and service.history(OLGA)

    source.write_text(text, "utf-8")  # the same revision, now QA and admin only
    assert [f.status for f in copilot.ingest([source]).files] == ["updated"]
    assert service.review_queue(OLGA) == [] and service.history(OLGA) == []
    assert service.modules(OLGA) == [] and service.modules(TINA) == []
    with pytest.raises(AccessDeniedError):
        service.questions(module, OLGA)
    assert [m.module_id for m in service.modules(QUINN)] == [module]


def test_matrix_hides_titles_of_documents_the_viewer_may_not_see(secured, tmp_path):
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text("roles:\n  qa: [SOP-SEC-900, SOP-QA-010]\n  operator: [SOP-QA-010]\n",
                      "utf-8")
    service = TrainingService(secured.kb, AuditTrail(tmp_path / "audit.sqlite"),
                              tmp_path / "training.sqlite", matrix)
    titles = {(r.user, r.doc_id): r.title for r in service.matrix([QUINN, OLGA], viewer=TINA)}
    assert titles[("quinn", SEC)] == ""  # the row stays (QA's training is tracked), untitled
    assert titles[("quinn", "SOP-QA-010")] and titles[("olga", "SOP-QA-010")]
    as_qa = {(r.user, r.doc_id): r.title for r in service.matrix([QUINN], viewer=QUINN)}
    assert as_qa[("quinn", SEC)] == SEC_TITLE


# -- F5 ------------------------------------------------------------------------------------

def _ref(hit) -> dict:
    return {"chunk_id": hit.chunk_id, "doc_id": hit.doc_id, "revision": hit.revision}


def test_gaps_for_a_trainer_leave_out_qa_only_documents_and_their_questions(secured, service):
    kb = secured.kb
    dev = kb.search(HPLC_QUESTION, k=1, filters=SearchFilter(role="qa", doc_id=DEV))[0]
    sec = kb.search("vault code", k=1, filters=SearchFilter(role="qa", doc_id=SEC))[0]
    open_doc = kb.search("HPLC system suitability", k=1,
                         filters=SearchFilter(role="operator"))[0]
    steam = kb.search("exposure time porous load P1 AC-02", k=1,
                      filters=SearchFilter(role="operator"))[0]
    assert open_doc.doc_id not in (DEV, SEC) and steam.doc_id != open_doc.doc_id
    audit = service.audit
    # QA's answered question cited the QA-only report and an open SOP; QA's declined question
    # was pointed at the QA-only SOP; an operator's question cited an open SOP.
    audit.append("quinn", "qa", "ask", {"question": HPLC_QUESTION, "status": "grounded",
                                        "citations": [_ref(dev), _ref(open_doc)], "closest": []})
    audit.append("quinn", "qa", "ask", {"question": "What is the vault code in SOP-SEC-900?",
                                        "status": "declined", "citations": [],
                                        "closest": [_ref(sec)]})
    audit.append("olga", "operator", "ask", {"question": "How long is the P1 exposure?",
                                             "status": "grounded", "citations": [_ref(steam)],
                                             "closest": []})
    module = _qa_module(service)  # and QA fails its items: gaps from attempts
    service.submit(QUINN, module, {i.item_id: _wrong(i) for i in service.questions(module,
                                                                                   QUINN)})

    for_qa = service.gaps(QUINN, limit=50)
    assert {DEV, SEC} <= {g.doc_id for g in for_qa}  # the data the filter must remove
    assert any(HPLC_QUESTION in g.example_questions for g in for_qa if g.doc_id == DEV)

    for_trainer = service.gaps(TINA, limit=50)
    assert not {DEV, SEC} & {g.doc_id for g in for_trainer}
    assert not _shows_restricted([g.model_dump() for g in for_trainer])
    examples = [q for g in for_trainer for q in g.example_questions]
    assert HPLC_QUESTION not in examples  # it cited a QA-only report, even beside open_doc
    assert "How long is the P1 exposure?" in examples
    shared = next(g for g in for_trainer if g.doc_id == open_doc.doc_id
                  and g.section == open_doc.section)
    assert shared.questions == 1 and shared.example_questions == []  # counted, not quoted


# -- F11 -----------------------------------------------------------------------------------

@pytest.mark.light
def test_csv_cells_that_a_spreadsheet_would_run_are_quoted():
    for start in FORMULA_STARTS:
        assert csv_cell(f"{start}HYPERLINK(\"http://10.66.6.6/\")").startswith("'" + start)
    assert csv_cell("olga") == "olga" and csv_cell("SOP-QA-010") == "SOP-QA-010"
    assert csv_cell(None) == "" and csv_cell(5) == "5"


def test_cli_matrix_csv_does_not_carry_a_formula_in_a_user_name(secured_home, monkeypatch):
    for key in [k for k in os.environ if k.startswith("COPILOT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("COPILOT_HOME", str(secured_home))
    evil = "@SUM(1+1)*cmd|' /C calc'!A0"
    shown = CliRunner().invoke(app, ["training", "matrix", "--csv", "--user", f"{evil}:operator"])
    assert shown.exit_code == 0, shown.output
    rows = list(csv.reader(io.StringIO(shown.stdout)))
    assert rows[1][0] == "'" + evil and len(rows) > 2
    assert not any(cell.startswith(FORMULA_STARTS) for row in rows for cell in row)


# -- F1 on the command line ------------------------------------------------------------------

def _copilot_cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env.update(COPILOT_HOME=str(home), COLUMNS="200")
    return subprocess.run([str(Path(sys.executable).with_name("copilot")), *args], env=env,
                          capture_output=True, text=True, timeout=600)


def test_cli_refuses_a_trainer_building_a_qa_only_sop(secured_home):
    refused = _copilot_cli(secured_home, "quiz", "build", SEC, "--user", "tina:trainer")
    message = " ".join(refused.stderr.split())
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"tina (role trainer) may not build a quiz from {SEC}" in message
    assert "not in its access list" in message
    assert SECRET not in refused.stdout + refused.stderr
    trail = AuditTrail(secured_home / "audit" / "audit.sqlite")
    assert [r.details["doc_id"] for r in trail.records(user="tina", action="access_denied")] \
        == [SEC]
    assert not trail.records(user="tina", action="config_change")  # nothing was built
    # The same command as QA works: the refusal is the role's, not a broken document.
    built = _copilot_cli(secured_home, "quiz", "build", SEC, "--user", "quinn:qa", "--json")
    assert built.returncode == 0, built.stderr
    assert SECRET in built.stdout
    assert TrainingStore(secured_home / "training" / "training.sqlite").module(SEC) is not None


def test_cli_lists_and_shows_only_what_the_user_may_see(secured_home, monkeypatch):
    for key in [k for k in os.environ if k.startswith("COPILOT_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("COPILOT_HOME", str(secured_home))
    runner = CliRunner()
    built = runner.invoke(app, ["quiz", "build", SEC, "--user", "quinn:qa"])
    assert built.exit_code == 0, built.output
    as_qa = json.loads(runner.invoke(app, ["quiz", "list", "--json", "--user", "quinn:qa"]).stdout)
    assert SEC in [m["module_id"] for m in as_qa]
    listed = runner.invoke(app, ["quiz", "list", "--json", "--user", "tina:trainer"])
    assert listed.exit_code == 0 and SEC not in listed.stdout
    shown = runner.invoke(app, ["quiz", "show", SEC, "--user", "tina:trainer"])
    assert shown.exit_code == 2 and SECRET not in shown.output and "may not" in shown.output
    taken = runner.invoke(app, ["quiz", "take", SEC, "--user", "olga:operator"], input="A\n" * 20)
    assert taken.exit_code == 2 and SECRET not in taken.output
    gaps = runner.invoke(app, ["training", "gaps", "--json", "--user", "tina:trainer"])
    assert gaps.exit_code == 0 and SEC not in gaps.stdout


# -- F1 and F5 through the served app ----------------------------------------------------------

def _client(url: str, name: str):
    from gradio_client import Client

    return Client(url + "/", auth=(name, UI_PASSWORD), verbose=False)


def _filler(client, elem_id: str) -> str:
    """The api name of the page filler that fills the component `elem_id` (fillers are
    registered by ui/app.py under generated names such as /run_3)."""
    ids = {c["id"] for c in client.config["components"]
           if c.get("props", {}).get("elem_id") == elem_id}
    names = [d["api_name"] for d in client.config["dependencies"]
             if ids & set(d.get("outputs", [])) and d.get("api_name")
             and d["api_name"].startswith("run")]
    assert len(names) == 1, names
    return "/" + names[0]


def _choices(update) -> list[str]:
    """The values of a dropdown update as gradio_client returns it."""
    return [c[1] if isinstance(c, (list, tuple)) else c for c in update.get("choices", [])]


def _refused(call) -> str:
    """What the server answered an attempt with: its message, or the error it raised."""
    try:
        return json.dumps(call(), default=str)
    except Exception as exc:  # noqa: BLE001 - gradio_client wraps server errors in AppError
        return f"refused: {exc}"


@pytest.mark.slow
def test_ui_trainer_cannot_build_or_list_a_qa_only_sop(ui_server):
    url, home = ui_server
    quinn = _client(url, "quinn")
    sops, _ = quinn.predict(api_name=_filler(quinn, "build-doc"))
    assert SEC in _choices(sops)  # QA may, so the filter below is a filter
    built = quinn.predict(SEC, "", api_name="/build_module")[0]
    assert "items passed validation" in built
    # Left as drafts: nothing approved in the shared server for other tests to trip over.

    tina = _client(url, "tina")
    sops, modules = tina.predict(api_name=_filler(tina, "build-doc"))
    assert SEC not in _choices(sops) and SEC not in _choices(modules)
    assert "SOP-CLN-005" in _choices(sops)
    # Gradio refuses a value outside the session's choices before the handler runs; the
    # handler refuses too (the service tests above). Either way: no module, no text.
    answer = _refused(lambda: tina.predict(SEC, "", api_name="/build_module"))
    assert SECRET not in answer and "items passed validation" not in answer
    items = _refused(lambda: tina.predict(SEC, api_name="/module_items"))
    assert SECRET not in items and items.startswith("refused")
    builds = AuditTrail(home / "audit" / "audit.sqlite").records(user="tina",
                                                                  action="config_change")
    assert not [r for r in builds if r.details.get("doc_id") == SEC]

    olga = _client(url, "olga")
    _status, _due, _history, quizzes = olga.predict(api_name="/my_page")
    assert SEC not in _choices(quizzes)
    started = _refused(lambda: olga.predict(SEC, api_name="/start_quiz"))
    assert SECRET not in started and started.startswith("refused")


@pytest.mark.slow
def test_ui_gap_rows_for_a_trainer_hold_no_qa_only_document(ui_server):
    url, _ = ui_server
    quinn = _client(url, "quinn")
    # The review's QA question, asked for real: answered from (or pointed at) DEV-2026-011.
    quinn.predict(HPLC_QUESTION, [], api_name="/ask")
    qa_rows = quinn.predict(api_name="/gap_rows")
    assert DEV in json.dumps(qa_rows), qa_rows  # the data the trainer's filter must remove
    trainer_rows = _client(url, "tina").predict(api_name="/gap_rows")
    shown = json.dumps(trainer_rows, ensure_ascii=False)
    assert DEV not in shown and SEC not in shown and "back-dated" not in shown
