"""Shared fixtures. Real parts everywhere: real embedder, real Chroma, real llama.cpp model.

The demo plant is ingested once per session into a temporary home and shared read-only.

Every test runs isolated: no `COPILOT_*` setting from the shell leaks in (a developer's
`COPILOT_LLM=ollama:…` would otherwise change what a test exercises), `COPILOT_HOME` points at
a temporary folder, and connections beyond this machine are refused (nothing may download).

Two tiers: `make test` runs everything; `make test-fast` runs the tests marked `light` with
`COPILOT_TEST_TIER=fast`, under which importing a heavy library (torch, Chroma, spaCy,
Presidio, llama.cpp, Gradio, ONNX Runtime, a browser driver) fails the test at once, so the
marker cannot drift from the truth.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from copilot import Copilot, Settings, demo_plant_path

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpus"
HEAVY_MODULES = ("torch", "chromadb", "gradio", "spacy", "presidio_analyzer",
                 "presidio_anonymizer", "llama_cpp", "sentence_transformers", "transformers",
                 "onnxruntime", "playwright")
FAST_TIER = os.environ.get("COPILOT_TEST_TIER") == "fast"


class _HeavyImportBlocker:
    """A meta-path finder that refuses the heavy libraries in the fast tier."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in HEAVY_MODULES:
            raise ImportError(f"{name} imported in the fast test tier: mark the test slow-"
                              f"tier (drop `light`) or keep it off the heavy path")
        return None


if FAST_TIER:
    sys.meta_path.insert(0, _HeavyImportBlocker())


def pytest_ignore_collect(collection_path, config):
    # A module without a light test is not even imported in the fast tier (it may import a
    # heavy library at its top).
    if FAST_TIER and collection_path.suffix == ".py" and collection_path.name.startswith("test_"):
        return "pytest.mark.light" not in collection_path.read_text("utf-8")
    return None


def pytest_collection_modifyitems(config, items):
    if FAST_TIER:
        skipped = [i for i in items if "light" not in i.keywords]
        items[:] = [i for i in items if "light" in i.keywords]
        config.hook.pytest_deselected(items=skipped)


def _is_local(address) -> bool:
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths (PostgreSQL's socket, say)
    try:
        return ipaddress.ip_address(address[0].split("%")[0]).is_loopback
    except ValueError:
        return address[0] == "localhost"


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path_factory):
    # COPILOT_TEST_* (the tier, the PostgreSQL server tests use) configure the tests, not the
    # copilot, and are kept.
    for key in [k for k in os.environ
                if k.startswith("COPILOT_") and not k.startswith("COPILOT_TEST_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("COPILOT_HOME", str(tmp_path_factory.mktemp("home")))
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded(real):
        def connect(sock, address):
            if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local(address):
                raise OSError(f"network access blocked in tests: {address!r}")
            return real(sock, address)
        return connect

    monkeypatch.setattr(socket.socket, "connect", guarded(real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(real_connect_ex))


@pytest.fixture(scope="session")
def embedder():
    from copilot.build import build_embedder

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


@contextmanager
def logged_server(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A server process writing to `log` (a file, not a pipe: a full pipe would block the
    server), stopped and its log file closed when the block ends."""
    with log.open("w") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  text=True)
        try:
            yield server
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


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
    log = home.parent / "serve.log"
    url = f"http://127.0.0.1:{port}"
    with logged_server([str(Path(sys.executable).with_name("copilot")), "serve", "--login"],
                       env, log) as server:
        wait_for_http(url + "/", server, log=log)
        yield url, home
