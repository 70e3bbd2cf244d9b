"""Chat-model backends: OpenAI-compatible against a real llama.cpp server on loopback, Ollama
live when a server answers, and the request mapping of each."""

import json
import os
import subprocess
import sys
import urllib.request

import pytest
from conftest import free_port, wait_for_http

from copilot import ModelUnavailableError, Settings
from copilot.build import build_chat_backend, build_copilot
from copilot.llm import bundled_gguf_path, make_chat_model


@pytest.mark.light
def test_ollama_request_mapping():
    backend = make_chat_model("ollama:llama3.2:3b", context=2048, max_tokens=150, threads=2,
                              ollama_host="http://127.0.0.1:11999")
    model = backend.model
    assert (model.model, model.base_url) == ("llama3.2:3b", "http://127.0.0.1:11999")
    assert (model.temperature, model.num_ctx, model.num_predict) == (0.0, 2048, 150)
    assert backend.name == "ollama:llama3.2:3b"


@pytest.mark.light
def test_openai_request_mapping():
    backend = make_chat_model("openai:qwen2.5-7b", context=4096, max_tokens=120, threads=2,
                              openai_base_url="http://127.0.0.1:8000/v1", openai_api_key=None)
    model = backend.model
    assert model.model_name == "qwen2.5-7b" and model.openai_api_base == "http://127.0.0.1:8000/v1"
    assert model.max_tokens == 120 and model.temperature == 0.0 and model.streaming


@pytest.mark.light
def test_unknown_backend_is_a_clear_error():
    with pytest.raises(ModelUnavailableError, match="unknown COPILOT_LLM"):
        make_chat_model("gpt-banana", context=1024, max_tokens=10, threads=1)
    with pytest.raises(ModelUnavailableError, match="file not found"):
        make_chat_model("/nowhere/model.gguf", context=1024, max_tokens=10, threads=1)


def _ollama_answers(host: str) -> bool:
    try:
        with urllib.request.urlopen(f"{host}/api/tags", timeout=2) as response:
            return bool(json.loads(response.read()).get("models"))
    except OSError:
        return False


@pytest.mark.slow
def test_ollama_live(demo_home):
    settings = Settings(home=demo_home)
    if not _ollama_answers(settings.ollama_host):
        pytest.skip(f"no Ollama server with a model at {settings.ollama_host}")
    with urllib.request.urlopen(f"{settings.ollama_host}/api/tags", timeout=2) as response:
        name = json.loads(response.read())["models"][0]["name"]
    settings = Settings(home=demo_home, llm=f"ollama:{name}")
    copilot = build_copilot(settings, backend=build_chat_backend(settings))
    answer = copilot.ask("What should I do when AC-02 shows alarm E-22?")
    assert answer.status in ("grounded", "quoted") and answer.model == f"ollama:{name}"


@pytest.fixture(scope="module")
def llama_server():
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf_path()),
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
         "--model_alias", "smollm2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}/v1"
    wait_for_http(f"{url}/models", server, timeout=120)
    yield url
    server.terminate()
    server.wait(timeout=30)


@pytest.mark.slow
def test_openai_compatible_server_end_to_end(demo_home, llama_server):
    settings = Settings(home=demo_home, llm="openai:smollm2", openai_base_url=llama_server)
    copilot = build_copilot(settings, backend=build_chat_backend(settings))
    events = list(copilot.ask_stream("What should I do when AC-02 shows alarm E-22?"))
    answer = events[-1].answer
    assert answer.model.startswith("openai:smollm2@")
    assert answer.draft  # the server's model really wrote something
    assert answer.status in ("grounded", "quoted")
    assert answer.cited_doc_ids()[0] in {"SOP-STE-001", "MAN-AC-02"}
