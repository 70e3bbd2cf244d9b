"""Shared fixtures. Real parts everywhere: real embedder, real Chroma, real llama.cpp model.

The demo plant is ingested once per session into a temporary home and shared read-only.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from copilot import Copilot, Settings, demo_plant_path
from copilot.build import build_embedder

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def embedder():
    return build_embedder("minilm")


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("demo_home")
    copilot = Copilot.from_settings(Settings(home=home))
    report = copilot.ingest([demo_plant_path()])
    assert not report.failed, report.failed
    return home


@pytest.fixture(scope="session")
def demo_copilot(demo_home) -> Copilot:
    return Copilot.from_settings(Settings(home=demo_home))


@pytest.fixture()
def fresh_copilot(tmp_path) -> Copilot:
    return Copilot.from_settings(Settings(home=tmp_path / "home"))


@pytest.fixture()
def demo_copy(tmp_path) -> Path:
    """A writable copy of the demo plant for tests that change files."""
    target = tmp_path / "plant"
    shutil.copytree(demo_plant_path(), target)
    return target


# ---- servers ---------------------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, process, timeout: float = 240, log: Path | None = None) -> str:
    """Poll until `url` answers 200; fail with the server's output if it dies first."""
    import time
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            output = log.read_text() if log else (process.stdout.read() if process.stdout else "")
            raise AssertionError(f"server exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return response.read().decode("utf-8", "replace")
        except OSError:
            time.sleep(1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


UI_PASSWORD = "correct-horse-battery"
UI_USERS = {"olga": "operator", "tina": "trainer", "quinn": "qa", "adam": "admin",
            "sam": "supervisor",
            # Accounts only the login-throttling tests use: locking them out harms no other test.
            "lena": "operator", "luke": "operator"}
# Attack documents from the security review, ingested into the served home: a QA-only SOP
# (SOP-SEC-900), a manual with HTML and Markdown in its text (MAN-XSS-901), a draft (SOP-DRF-777).
SECURITY_DOCS = Path(__file__).resolve().parent / "data" / "security"


@pytest.fixture(scope="session")
def ui_server(demo_home, tmp_path_factory):
    """`copilot serve --login` over a copy of the demo home, with one account per role.
    Yields (base url, home)."""
    import os
    import subprocess
    import sys

    from guardrails import UserStore

    home = tmp_path_factory.mktemp("ui_home") / "home"
    shutil.copytree(demo_home, home)
    report = Copilot.from_settings(Settings(home=home)).ingest([SECURITY_DOCS])
    assert not report.failed and report.count("added") == 3, report.files
    store = UserStore(home / "users.sqlite")
    for name, role in UI_USERS.items():
        store.add(name, role, UI_PASSWORD)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env.update(COPILOT_HOME=str(home), COPILOT_UI_PORT=str(port),
               COPILOT_EVAL_REPORT_DIR=str(REPO / "evals" / "reports" / "demo"))
    log = home.parent / "serve.log"  # a file, not a pipe: a full pipe would block the server
    server = subprocess.Popen([str(Path(sys.executable).with_name("copilot")), "serve", "--login"],
                              env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(url + "/", server, log=log)
        yield url, home
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
