"""Scale path: the same knowledge base code against a real `chroma run` server on loopback."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import free_port, wait_for_http

from copilot import Copilot, Settings, demo_plant_path
from knowledge import SearchFilter

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory):
    port = free_port()
    data = tmp_path_factory.mktemp("chroma_server")
    chroma = Path(sys.executable).with_name("chroma")
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    server = subprocess.Popen([str(chroma), "run", "--path", str(data), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_for_http(f"{url}/api/v2/heartbeat", server, timeout=60)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="module")
def served(chroma_url, tmp_path_factory):
    home = tmp_path_factory.mktemp("served_home")
    copilot = Copilot.from_settings(Settings(home=home, chroma_url=chroma_url))
    report = copilot.ingest([demo_plant_path()])
    assert not report.failed
    return copilot, home


def test_vectors_live_on_the_server(served):
    copilot, home = served
    assert not (home / "chroma").exists()  # nothing embedded locally
    assert copilot.kb.vectors.count() == len(copilot.kb.catalog.all_chunks())


def test_retrieval_over_server_matches_the_rules(served):
    copilot, _ = served
    hits = copilot.kb.search("alarm E-22", k=3, filters=SearchFilter(role="operator"))
    assert hits[0].doc_id in {"SOP-STE-001", "MAN-AC-02"} and "E-22" in hits[0].text
    sop = copilot.kb.search("P1 porous load exposure time", k=10,
                            filters=SearchFilter(doc_id="SOP-STE-001"))
    assert sop and {h.revision for h in sop} == {"5"}
    restricted = {d.doc_id for d, _ in copilot.kb.documents() if "operator" not in d.access}
    for mode in ("dense", "hybrid"):
        hits = copilot.kb.search("back-dated logbook entry HPLC", k=20, mode=mode,
                                 filters=SearchFilter(role="operator"))
        assert not {h.doc_id for h in hits} & restricted


def test_a_second_process_shares_the_server(served, chroma_url):
    copilot, home = served
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env.update(COPILOT_HOME=str(home), COPILOT_CHROMA_URL=chroma_url)
    result = subprocess.run([str(Path(sys.executable).with_name("copilot")), "search", "--json",
                             "--k", "3", "WFI conductivity limit", "--mode", "dense"],
                            capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    theirs = [h["chunk_id"] for h in json.loads(result.stdout)]
    ours = [h.chunk_id for h in copilot.search("WFI conductivity limit", k=3, mode="dense")]
    assert theirs == ours


def test_a_chroma_server_beyond_this_host_needs_tls_and_a_token():
    """Security review F17: anyone reaching the Chroma port reads the index's metadata and can
    replace vectors, so a remote server without https and a token is refused before any
    connection is made."""
    from knowledge import KnowledgeError
    from knowledge.vector_store import ChromaStore

    for url, token in (("http://10.20.30.40:8000", None), ("http://10.20.30.40:8000", "t0ken"),
                       ("https://chroma.plant.example:8443", None)):
        with pytest.raises(KnowledgeError, match="COPILOT_CHROMA_TOKEN"):
            ChromaStore(url=url, token=token)


def test_the_token_is_sent_to_a_loopback_server(chroma_url, tmp_path):
    """With a token set, the client sends it as a bearer header (the loopback test server has
    no auth, so it accepts the request either way: what is checked is the client's header)."""
    from knowledge.vector_store import ChromaStore

    store = ChromaStore(url=chroma_url, token="s3cret-token", collection="token_check")
    assert store.count() == 0
    headers = store._client._server._session.headers  # chromadb's own HTTP session
    assert headers.get("Authorization") == "Bearer s3cret-token"
