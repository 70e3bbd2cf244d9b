"""`copilot serve` brings the UI up over the demo plant (real models, real HTTP): in explicit
demo mode, as `make run` starts it, and refuses to start with login but no accounts."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, wait_for_http

pytestmark = pytest.mark.slow
COPILOT = str(Path(sys.executable).with_name("copilot"))


def _env(home: Path, port: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env.update(COPILOT_HOME=str(home), COPILOT_UI_PORT=str(port))
    return env


def test_demo_mode_serves_http_200(demo_home, tmp_path):
    port = free_port()
    log = tmp_path / "serve.log"
    server = subprocess.Popen([COPILOT, "serve", "--demo-mode"], env=_env(demo_home, port),
                              stdout=log.open("w"), stderr=subprocess.STDOUT, text=True)
    try:
        body = wait_for_http(f"http://127.0.0.1:{port}/", server, log=log)
        assert "Operator Copilot" in body or "gradio" in body.lower()
        assert "DEMO MODE" in log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_login_mode_without_accounts_refuses_to_start(tmp_path):
    result = subprocess.run([COPILOT, "serve", "--login", "--no-demo"],
                            env=_env(tmp_path / "home", free_port()), capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 2
    assert "no user accounts" in result.stderr and "copilot users add" in result.stderr
