"""Two copilot servers sharing one PostgreSQL database, started by `scripts/cluster-up` with a
Chroma server and an OpenAI-compatible llama.cpp server (the README's deployment topology).

Through the served HTTP API (`gradio_client`, as a browser would): a user logs in on both;
questions asked on both land in one chain that verifies; a document ingested on one is found on
the other; a user disabled on one cannot act on the other. Quiz modules go through the Python
API of a copilot on each server's home and settings (the UI's training tab has no HTTP API): a
quiz approved through one is taken through the other.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import free_port
from storage_pg import create_database, drop_database

from guardrails import AuditTrail, User, UserStore
from storage import PostgresDatabase

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    name, url = create_database()
    workdir = tmp_path_factory.mktemp("cluster")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    ports = {key: str(free_port()) for key in ("CHROMA", "LLM", "PORT_A", "PORT_B")}
    env.update(COPILOT_DATABASE_URL=url, CLUSTER_ADMIN="adam", CLUSTER_ADMIN_PASSWORD=PASSWORD,
               CLUSTER_DEMO="1", CLUSTER_CREATE_DB="0",
               **{f"CLUSTER_{k}" if k.startswith("PORT") else f"CLUSTER_{k}_PORT": v
                  for k, v in ports.items()})
    script = REPO / "scripts" / "cluster-up"
    up = subprocess.run([str(script), "up", str(workdir)], env=env, capture_output=True,
                        text=True, timeout=1800)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        settings = dict(line.split("=", 1) for line in
                        (workdir / "cluster.env").read_text().splitlines() if "=" in line)
        store = UserStore(PostgresDatabase(url))
        for user, role in (("olga", "operator"), ("tina", "trainer")):
            store.add(user, role, PASSWORD)
        yield {"url": url, "dir": workdir, **settings}
    finally:
        subprocess.run([str(script), "down", str(workdir)], env=env, timeout=300)
        drop_database(name)


def client(url: str, name: str):
    from gradio_client import Client

    return Client(url + "/", auth=(name, PASSWORD), verbose=False)


def reply(history) -> str:
    return str(history[-1]["content"])


def trail(cluster) -> AuditTrail:
    return AuditTrail(PostgresDatabase(cluster["url"]), key_file=cluster["COPILOT_AUDIT_KEY_FILE"])


def test_both_servers_use_the_bundled_model_over_the_openai_api(cluster):
    assert cluster["COPILOT_LLM"] == "openai:smollm2"
    assert cluster["SERVER_A"] != cluster["SERVER_B"]


def test_questions_on_both_servers_land_in_one_chain(cluster):
    before = trail(cluster).head()[0]
    on_a, on_b = client(cluster["SERVER_A"], "olga"), client(cluster["SERVER_B"], "olga")
    first, _ = on_a.predict("What should I do when AC-02 shows alarm E-22?", [], api_name="/ask")
    second, _ = on_b.predict("What is the exposure time for a P1 load?", [], api_name="/ask")
    assert reply(first) and reply(second)
    result = trail(cluster).verify()
    assert result.ok, result.reason
    asked = [r.details.get("question", "") for r in trail(cluster).records()
             if r.seq > before and r.action == "ask" and r.user == "olga"]
    assert any("E-22" in q for q in asked) and any("P1" in q for q in asked)


def test_a_document_ingested_on_one_server_is_found_on_the_other(cluster, tmp_path):
    from gradio_client import handle_file

    doc = tmp_path / "sop-cluster-042.md"
    doc.write_text("""---
doc_id: SOP-CLU-042
title: "Blister line BL-42 film change"
type: sop
revision: "1"
effective_date: 2026-01-01
status: effective
equipment: [BL-42]
access: [operator, supervisor, qa, trainer, admin]
---

# SOP-CLU-042 Blister line BL-42 film change

## 1 Procedure

When blister line BL-42 shows alarm Q-917, stop the line, change the forming film roll and
record the roll number in the batch record before restarting.
""", encoding="utf-8")
    admin = client(cluster["SERVER_A"], "adam")
    admin.predict([handle_file(str(doc))], "admin", api_name="/ingest")
    history, _ = client(cluster["SERVER_B"], "olga").predict(
        "What do I do when BL-42 shows alarm Q-917?", [], api_name="/ask")
    assert "SOP-CLU-042" in reply(history)


def test_a_quiz_approved_through_one_server_is_taken_through_the_other(cluster):
    from copilot import Copilot, Settings

    def copilot_on(home: str) -> Copilot:
        return Copilot.from_settings(Settings(
            home=Path(cluster["dir"]) / home, database_url=cluster["url"],
            chroma_url=cluster["COPILOT_CHROMA_URL"],
            chroma_collection=cluster["COPILOT_CHROMA_COLLECTION"],
            audit_key_file=cluster["COPILOT_AUDIT_KEY_FILE"]))

    a, b = copilot_on("home-a"), copilot_on("home-b")
    trainer, learner = User("tina", "trainer"), User("olga", "operator")
    module = a.training.build_module("SOP-STE-001", user=trainer).module_id
    assert a.training.approve(module, trainer) > 0
    items = b.training.questions(module, learner)
    assert items  # approved on a, offered on b
    result = b.training.submit(learner, module, {i.item_id: i.key for i in items})
    assert result.passed
    assert [r.result_id for r in a.training.history(learner)] == [result.result_id]
    assert trail(cluster).verify().ok


def test_a_user_disabled_on_one_server_cannot_act_on_the_other(cluster):
    from gradio_client import Client

    sam_password = PASSWORD
    UserStore(PostgresDatabase(cluster["url"])).add("sam", "supervisor", sam_password)
    on_b = client(cluster["SERVER_B"], "sam")  # logged in on b before the change
    admin = client(cluster["SERVER_A"], "adam")
    admin.predict("sam", "supervisor", "", "admin", api_name="/user_disable")
    assert UserStore(PostgresDatabase(cluster["url"])).get("sam").disabled
    try:
        history, _ = on_b.predict("What is the exposure time for a P1 load?", [],
                                  api_name="/ask")
        refused = "disabled" in reply(history) or "not allowed" in reply(history).lower()
    except Exception as exc:  # an error response is a refusal too; it must say why
        refused = "disabled" in str(exc) or "denied" in str(exc).lower() or "Error" in type(
            exc).__name__
    assert refused
    # gradio_client raises a different type per version for a refused login.
    with pytest.raises(Exception):  # noqa: B017
        Client(cluster["SERVER_B"] + "/", auth=("sam", sam_password), verbose=False)
