"""`copilot serve` brings the UI up over the demo plant (real models, real HTTP): in explicit
demo mode, as `make run` starts it, and refuses to start with login but no accounts. Demo mode
never opens a plant's home (security review F2), login mode never indexes the demo plant (F19)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, logged_server, wait_for_http

pytestmark = pytest.mark.slow
COPILOT = str(Path(sys.executable).with_name("copilot"))


def _env(home: Path, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env.update(COPILOT_HOME=str(home), COPILOT_DEMO_HOME=str(home), COPILOT_UI_PORT=str(port))
    return env


def test_demo_mode_serves_http_200(demo_home, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    with logged_server([COPILOT, "serve", "--demo-mode"], _env(demo_home, port), log) as server:
        body = wait_for_http(f"http://127.0.0.1:{port}/", server, log=log)
        assert "Operator Copilot" in body or "gradio" in body.lower()
        assert "DEMO MODE" in log.read_text()


def test_login_mode_without_accounts_refuses_to_start(tmp_path):
    result = subprocess.run([COPILOT, "serve", "--login", "--no-demo"],
                            env=_env(tmp_path / "home", free_port()), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2
    assert "no user accounts" in result.stderr and "copilot users add" in result.stderr


# ---- security review F2 / F19: demo mode never opens a plant's home -------------------------

def _plant_home(tmp_path: Path) -> Path:
    """A plant's home: one administrator account, no documents yet."""
    from guardrails import UserStore

    home = tmp_path / "plant"
    UserStore(home / "users.sqlite").add("alice", "admin", "Pw-alice-2026!")
    return home


def _serve(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([COPILOT, "serve", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_demo_mode_refuses_a_home_with_accounts(tmp_path):
    plant = _plant_home(tmp_path)
    env = _env(plant, free_port())  # COPILOT_DEMO_HOME pointed at the plant's home on purpose
    result = _serve("--demo-mode", env=env)
    assert result.returncode == 2, result.stderr
    assert "demo mode refuses the home" in result.stderr and "user accounts" in result.stderr
    env["COPILOT_DEMO_MODE"] = "true"  # the same from a service unit's environment
    result = _serve(env=env)
    assert result.returncode == 2 and "user accounts" in result.stderr


def test_demo_mode_refuses_a_home_with_other_documents(tmp_path):
    from conftest import SECURITY_DOCS

    from copilot import Copilot, Settings

    home = tmp_path / "other"
    Copilot.from_settings(Settings(home=home)).ingest([SECURITY_DOCS / "SOP-SEC-900.md"])
    result = _serve("--demo-mode", env=_env(home, free_port()))
    assert result.returncode == 2, result.stderr
    assert "not the demo plant's" in result.stderr and "SOP-SEC-900" in result.stderr


def test_demo_mode_refuses_to_listen_beyond_this_machine(tmp_path):
    result = _serve("--demo-mode", "--host", "0.0.0.0", env=_env(tmp_path / "h", free_port()))
    assert result.returncode == 2
    assert "127.0.0.1" in result.stderr and "--login" in result.stderr
    assert not (tmp_path / "h").exists()  # refused before anything was created


def test_demo_mode_uses_its_own_home_and_leaves_no_admin_in_the_plant(demo_home, tmp_path):
    """The review's attack: with a plant's home as COPILOT_HOME, `serve --demo-mode` and an
    anonymous `user_add(mallory, admin)`. Demo mode serves its own home, so the plant's
    accounts and trail are untouched."""
    from gradio_client import Client

    from guardrails import AuditTrail, UserStore

    plant = _plant_home(tmp_path)
    demo = tmp_path / "demo"
    shutil.copytree(demo_home, demo)
    port = free_port()
    env = _env(plant, port)
    env["COPILOT_DEMO_HOME"] = str(demo)
    log = tmp_path / "serve.log"
    with logged_server([COPILOT, "serve", "--demo-mode"], env, log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/", server, log=log)
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        try:
            client.predict("mallory", "admin", "Mallory-pw-2026", "admin", api_name="/user_add")
        except Exception:  # noqa: BLE001 - refused is fine too; what matters is below
            pass
    assert [a.name for a in UserStore(plant / "users.sqlite").list()] == ["alice"]
    assert "mallory" not in [a.name for a in UserStore(demo / "users.sqlite").list()]
    assert not (plant / "catalog.sqlite").exists()  # the plant's home was never opened
    assert AuditTrail(demo / "audit" / "audit.sqlite").verify().ok


def test_login_mode_never_indexes_the_fictional_demo_plant(tmp_path):
    """F19: a first `copilot serve` on a new plant's home starts with an empty index."""
    plant = _plant_home(tmp_path)
    port = free_port()
    log = tmp_path / "serve.log"
    with logged_server([COPILOT, "serve", "--login"], _env(plant, port), log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/", server, log=log)
    assert "Indexing the demo plant" not in log.read_text()
    docs = subprocess.run([COPILOT, "docs", "--json"], env=_env(plant, free_port()),
                          capture_output=True, text=True, timeout=300)
    assert docs.returncode == 0 and json.loads(docs.stdout) == []
