"""Every ask, search and ingest through the API leaves a verifiable audit record."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from copilot import Settings
from copilot.llm import LangChainBackend
from guardrails import User


@pytest.fixture(autouse=True)
def config_home(tmp_path_factory, monkeypatch):
    """The default audit key (~/.config) goes to a temporary folder, the CLI's included."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


def test_search_and_ingest_are_audited(fresh_copilot, demo_copy):
    fresh_copilot.ingest([demo_copy / "manuals"], user=User("ada", "admin"))
    fresh_copilot.search("alarm E-22", user=User("olga", "operator"))
    records = fresh_copilot.audit.records()
    assert [r.action for r in records] == ["ingest", "search"]
    assert records[0].user == "ada" and records[0].details["files"]
    assert records[1].details["hits"][0]["revision"]
    assert fresh_copilot.audit.verify().ok


def test_ask_is_audited_before_the_answer_is_handed_out(demo_home, tmp_path):
    settings = Settings(home=demo_home)
    from copilot.build import build_copilot
    from guardrails import AuditTrail

    trail = AuditTrail(tmp_path / "audit.sqlite")
    model = GenericFakeChatModel(messages=iter([AIMessage(content="Open the door [1].")]))
    settings = settings.model_copy(update={"synthesis": "on"})
    copilot = build_copilot(settings, audit=trail,
                            backend=LangChainBackend(model=model, name="scripted", context=4096))
    events = copilot.ask_stream("What do I do on AC-02 alarm E-22?", user=User("olga", "operator"))
    for event in events:
        if event.kind == "card":
            # At the moment the card is handed out, its record is already committed.
            record = trail.records()[-1]
            assert record.action == "ask" and record.user == "olga"
            assert record.details["answer"] == event.answer.text
            assert record.details["prompt_version"] == event.answer.prompt_version
            assert all(c["revision"] for c in record.details["citations"])
        if event.kind == "answer":
            # The model's part: what it wrote and the verdicts, recorded before the end.
            record = trail.records()[-1]
            assert record.action == "answer_part" and record.details["final"] is True
            assert record.details["draft"] == "Open the door [1]."  # what the model wrote
            assert record.details["model"] == "scripted"
    assert trail.verify().ok


def test_cli_audit_verify_and_export(fresh_copilot, demo_copy):
    fresh_copilot.ingest([demo_copy / "manuals"])
    home = str(fresh_copilot.settings.home_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env["COPILOT_HOME"] = home
    copilot_bin = str(Path(sys.executable).with_name("copilot"))
    ok = subprocess.run([copilot_bin, "audit", "verify"], env=env, capture_output=True, text=True)
    assert ok.returncode == 0 and "OK" in ok.stdout
    exported = subprocess.run([copilot_bin, "audit", "export", "--format", "json"], env=env,
                              capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)[0]["action"] == "ingest"
    import sqlite3

    conn = sqlite3.connect(Path(home) / "audit" / "audit.sqlite")
    triggers = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    for name in triggers:  # an intruder drops the guards and edits a record
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE audit SET user='mallory' WHERE seq=1")
    conn.commit()
    conn.close()
    broken = subprocess.run([copilot_bin, "audit", "verify"], env=env, capture_output=True, text=True)
    assert broken.returncode == 1 and "record 1" in broken.stderr
    # The API and the CLI found the same default key: one key file, outside the home.
    keys = list((Path(os.environ["XDG_CONFIG_HOME"]) / "operator-copilot").iterdir())
    assert [k.name for k in keys] == ["audit.key"] and not keys[0].is_relative_to(home)


def test_personal_data_never_reaches_model_or_audit(demo_home, tmp_path):
    from copilot.build import build_copilot
    from guardrails import AuditTrail

    settings = Settings(home=demo_home)
    trail = AuditTrail(tmp_path / "audit.sqlite")
    seen: list[str] = []

    class Recording(GenericFakeChatModel):
        def _stream(self, messages, *args, **kwargs):
            seen.append("\n".join(str(m.content) for m in messages))
            yield from super()._stream(messages, *args, **kwargs)

    model = Recording(messages=iter([AIMessage(content="Ask Maria Kowalski [1].")]))
    settings = settings.model_copy(update={"synthesis": "on"})
    copilot = build_copilot(settings, audit=trail,
                            backend=LangChainBackend(model=model, name="scripted", context=4096))
    question = ("Maria Kowalski (badge 44721, maria.kowalski@halden-pharma.example) saw AC-02 "
                "alarm E-22 on batch HM1-26-0037, what now?")
    answer = copilot.ask(question, user=User("olga", "operator"), conversation_id="c1")
    prompt = seen[0]
    for secret in ("Kowalski", "44721", "maria.kowalski@"):
        assert secret not in prompt and secret not in answer.question
    assert "E-22" in prompt and "HM1-26-0037" in answer.question  # plant vocabulary kept
    records = [r.details for r in trail.records()]
    assert "Kowalski" not in json.dumps(records)
    assert "<PERSON_1>" in records[0]["question"] and "<PERSON_1>" in records[-1]["draft"]
