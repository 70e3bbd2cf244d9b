"""`copilot serve` brings the UI up over the demo plant (real models, real HTTP)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_http_200(demo_home):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env.update(COPILOT_HOME=str(demo_home), COPILOT_UI_PORT=str(port))
    server = subprocess.Popen([str(Path(sys.executable).with_name("copilot")), "serve"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 240
        body = ""
        while time.time() < deadline:
            assert server.poll() is None, server.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert response.status == 200
                    body = response.read().decode("utf-8", "replace")
                    break
            except OSError:
                time.sleep(1)
        assert "Operator Copilot" in body or "gradio" in body.lower()
    finally:
        server.terminate()
        server.wait(timeout=30)
