"""Change control on revision (SOP-STE-001 rev 4 -> rev 5), matrix states, and the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copilot import Copilot, Settings, demo_plant_path
from copilot.cli import app
from copilot.training import STATES, MatrixConfigError, ModuleResult, TrainingService, load_matrix
from copilot.training.matrix import MatrixConfig, training_state
from guardrails import User

TRAINER = User("tess", "trainer")
OLGA = User("olga", "operator")  # passes on rev 4
OTTO = User("otto", "operator")  # never trained
STE = Path(demo_plant_path()) / "sops"


@pytest.fixture()
def plant_with_rev4_only(tmp_path) -> Path:
    """The sterilizer SOP as it stood before rev 5: rev 4 was then the effective revision."""
    plant = tmp_path / "plant" / "sops"
    plant.mkdir(parents=True)
    text = (STE / "SOP-STE-001_rev4.md").read_text(encoding="utf-8")
    (plant / "SOP-STE-001_rev4.md").write_text(text.replace("status: superseded",
                                                            "status: effective"), "utf-8")
    return plant


def test_new_revision_retires_changed_items_and_flags_learners(fresh_copilot,
                                                               plant_with_rev4_only, tmp_path):
    copilot = fresh_copilot
    assert not copilot.ingest([plant_with_rev4_only]).failed
    service = TrainingService(copilot.kb, copilot.audit, tmp_path / "training.sqlite")
    built = service.build_module("SOP-STE-001")
    assert built.revision == "4"
    service.approve("SOP-STE-001", TRAINER)
    items = service.questions("SOP-STE-001", OLGA)
    passed = service.submit(OLGA, "SOP-STE-001", {i.item_id: i.key for i in items})
    assert passed.passed and passed.revision == "4"
    assert _state(service, OLGA) == "current"

    # Rev 5 arrives: rev 4's file is marked superseded and rev 5 becomes effective.
    (plant_with_rev4_only / "SOP-STE-001_rev4.md").write_text(
        (STE / "SOP-STE-001_rev4.md").read_text(encoding="utf-8"), "utf-8")
    (plant_with_rev4_only / "SOP-STE-001_rev5.md").write_text(
        (STE / "SOP-STE-001_rev5.md").read_text(encoding="utf-8"), "utf-8")
    assert not copilot.ingest([plant_with_rev4_only]).failed
    rev5 = copilot.kb.document("SOP-STE-001")
    assert rev5.revision == "5"

    report = service.reconcile()
    retired = {r["item_id"] for r in report.retired}
    # Independently of the service: the items whose cited text is not in rev 5.
    expected = {i.item_id for i in items if i.quote not in rev5.text}
    assert retired == expected and retired
    exposure = [i for i in items if "| Exposure time | 15 min |" in i.quote
                or "121.0 °C to 124.0 °C for 15 min" in i.quote]
    assert exposure and {i.item_id for i in exposure} <= retired
    assert all(i.item_id not in retired for i in items if "45 kg" in i.quote)
    assert len(report.carried_forward) == len(items) - len(retired)
    assert report.flagged_modules == ["SOP-STE-001"]

    module = service.module("SOP-STE-001", TRAINER)
    assert module.needs_review and module.revision == "5"
    assert module.counts["retired"] == len(items)  # every rev 4 item is out of use
    live = service.questions("SOP-STE-001", OLGA)
    assert {i.revision for i in live} == {"5"} and len(live) == len(report.carried_forward)
    assert all(i.quote in rev5.text for i in live)
    assert "retired" in [row["status"] for row in
                         service.store.status_history(exposure[0].item_id)]

    assert _state(service, OLGA) == "retraining_needed"
    assert _state(service, OTTO) == "never_trained"
    assert service.reconcile().flagged_modules == []  # idempotent

    # Review, rebuild for the new content and retrain: current again.
    rebuilt = service.build_module("SOP-STE-001")
    assert any("| Exposure time | 20 min |" in i.quote for i in rebuilt.items)
    service.approve("SOP-STE-001", TRAINER)
    assert not service.module("SOP-STE-001", TRAINER).needs_review
    fresh = service.questions("SOP-STE-001", OLGA)
    service.submit(OLGA, "SOP-STE-001", {i.item_id: i.key for i in fresh})
    assert _state(service, OLGA) == "current"
    audit = copilot.audit.records(action="config_change")
    assert any(r.details.get("kind") == "quiz_reconcile" for r in audit)


def _state(service: TrainingService, user: User) -> str:
    rows = [r for r in service.matrix([user], viewer=TRAINER) if r.doc_id == "SOP-STE-001"]
    assert len(rows) == 1
    return rows[0].state


def _result(at: datetime, revision: str = "5", passed: bool = True,
            kind: str = "quiz") -> ModuleResult:
    return ModuleResult(user="u", role="operator", module_id="M", doc_id="D", revision=revision,
                        training_type=kind, score=1.0 if passed else 0.2, pass_mark=0.8,
                        passed=passed, n_items=5, n_correct=5 if passed else 1,
                        at=at.isoformat())


@pytest.mark.light
def test_matrix_states_follow_dates_revisions_and_training_type():
    config = MatrixConfig(retraining_interval_days=365, due_window_days=30)
    today = date(2026, 11, 26)

    def ago(days: int) -> datetime:
        return datetime(2026, 11, 26, tzinfo=UTC) - timedelta(days=days)

    assert training_state(config, [], "5", today)[0] == "never_trained"
    assert training_state(config, [_result(ago(10), passed=False)], "5", today)[0] \
        == "never_trained"
    assert training_state(config, [_result(ago(10))], "5", today)[0] == "current"
    assert training_state(config, [_result(ago(350))], "5", today)[0] == "due"
    assert training_state(config, [_result(ago(400))], "5", today)[0] == "overdue"
    assert training_state(config, [_result(ago(10), "4")], "5", today)[0] == "retraining_needed"
    # The newest pass decides; a read-and-understand alone does not count by default.
    assert training_state(config, [_result(ago(400)), _result(ago(5))], "5", today)[0] \
        == "current"
    assert training_state(config, [_result(ago(5), kind="read-and-understand")], "5",
                          today)[0] == "never_trained"
    assert set(STATES) == {"current", "due", "overdue", "retraining_needed", "never_trained"}


def test_matrix_config_of_the_demo_plant_names_real_documents(demo_copilot):
    config = load_matrix()
    known = {d.doc_id for d, _ in demo_copilot.kb.documents()}
    assert set(config.roles) == {"operator", "supervisor", "qa", "trainer", "admin"}
    for role, docs in config.roles.items():
        assert docs and set(docs) <= known, role


@pytest.mark.light
def test_bad_matrix_config_is_named(tmp_path):
    path = tmp_path / "matrix.yaml"
    path.write_text("roles:\n  cook: [SOP-QA-010]\n", encoding="utf-8")
    with pytest.raises(MatrixConfigError, match="unknown roles \\['cook'\\]"):
        load_matrix(path)
    path.write_text("roles: [unclosed\n", encoding="utf-8")
    with pytest.raises(MatrixConfigError, match="not valid YAML"):
        load_matrix(path)


# -- the CLI -----------------------------------------------------------------------------------

@pytest.fixture()
def cli_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    copilot = Copilot.from_settings(Settings(home=home))
    report = copilot.ingest([STE / "SOP-STE-001_rev5.md",
                             Path(demo_plant_path()) / "deviations" / "DEV-2025-014.md"])
    assert not report.failed
    monkeypatch.setenv("COPILOT_HOME", str(home))
    return home


def test_cli_build_json_approve_take_and_matrix(cli_home):
    runner = CliRunner()
    built = runner.invoke(app, ["quiz", "build", "SOP-STE-001", "--json"])
    assert built.exit_code == 0, built.output
    data = json.loads(built.stdout)
    assert data["items"] and isinstance(data["rejected"], list)
    assert {"type", "stem", "options", "key", "doc_id", "revision", "section", "quote",
            "status"} <= set(data["items"][0])
    assert {i["status"] for i in data["items"]} == {"draft"}

    refused = runner.invoke(app, ["quiz", "approve", "SOP-STE-001", "--user", "olga:operator"])
    assert refused.exit_code == 2 and "may not approve" in refused.output
    assert runner.invoke(app, ["quiz", "approve", "SOP-STE-001"]).exit_code == 0

    section = runner.invoke(app, ["quiz", "build", "SOP-STE-001", "--section", "6.3", "--json"])
    section_items = json.loads(section.stdout)["items"]
    runner.invoke(app, ["quiz", "approve", "SOP-STE-001:6.3"])
    answers = "\n".join(i["key"] for i in section_items) + "\n"
    taken = runner.invoke(app, ["quiz", "take", "SOP-STE-001:6.3", "--user", "olga:operator"],
                          input=answers)
    assert taken.exit_code == 0, taken.output
    assert "PASSED" in taken.output and f"{len(section_items)}/{len(section_items)}" in taken.output

    listed = runner.invoke(app, ["quiz", "list"])
    assert "SOP-STE-001:6.3" in listed.output
    matrix = runner.invoke(app, ["training", "matrix", "--csv"])
    assert matrix.exit_code == 0
    lines = matrix.stdout.splitlines()
    assert lines[0].startswith("user,role,doc_id,state")
    assert any(line.startswith("olga,operator,SOP-STE-001,current,5,5") for line in lines)
    assert any(line.startswith("demo-qa,qa,SOP-QA-009,never_trained") for line in lines)
    due = runner.invoke(app, ["training", "due", "--user", "olga:operator"])
    assert due.exit_code == 0 and "reviews due today" in due.output


def test_cli_bad_input_gets_a_clear_message(cli_home):
    runner = CliRunner()
    unknown = runner.invoke(app, ["quiz", "build", "SOP-NOPE-1"])
    assert unknown.exit_code == 2 and "unknown document 'SOP-NOPE-1'" in unknown.output
    deviation = runner.invoke(app, ["quiz", "build", "DEV-2025-014", "--user", "quinn:qa"])
    assert deviation.exit_code == 2 and "deviation report" in deviation.output
    assert "DEV-2025-014" in deviation.output
    missing = runner.invoke(app, ["quiz", "take", "NOPE", "--user", "olga"])
    assert missing.exit_code == 2 and "unknown quiz module 'NOPE'" in missing.output
