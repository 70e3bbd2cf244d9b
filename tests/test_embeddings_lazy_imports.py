"""A quick first start: with the ONNX embedder, `copilot search` and `copilot docs` run in a
fresh process without torch and without the chat model (issue 17). Checked in the process
itself (sys.modules after the command), not by timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from copilot import Copilot, Settings, demo_plant_path

PROBE = """
import json, sys
from copilot.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit as exc:
    if exc.code:
        raise
heavy = ("torch", "transformers", "sentence_transformers", "llama_cpp",
         "langchain_community", "presidio_analyzer", "spacy", "onnxruntime")
print("LOADED=" + json.dumps([name for name in heavy if sys.modules.get(name) is not None]))
"""


@pytest.fixture(scope="module")
def small_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("lazy_home")
    copilot = Copilot.from_settings(Settings(home=home, embedder="minilm-int8"))
    report = copilot.ingest(sorted((demo_plant_path() / "manuals").glob("*.md")))
    assert not report.failed and report.count("added")
    return home


def _loaded(home, *argv: str) -> list[str]:
    env = {**os.environ, "COPILOT_HOME": str(home), "COPILOT_EMBEDDER": "minilm-int8"}
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("LOADED="))
    return json.loads(line.removeprefix("LOADED="))


def test_search_loads_neither_torch_nor_a_chat_model(small_home):
    loaded = _loaded(small_home, "search", "alarm E-22 exposure temperature low")
    assert "onnxruntime" in loaded  # the embedder really ran (the query was embedded)
    # The query is scrubbed for the audit trail, so Presidio and spaCy load; torch must not
    # come in through them (thinc, Presidio's transformers engine) nor through the embedder.
    assert "presidio_analyzer" in loaded
    for name in ("torch", "transformers", "sentence_transformers", "llama_cpp",
                 "langchain_community"):
        assert name not in loaded, loaded


def test_docs_loads_no_model_but_the_embedder(small_home):
    loaded = _loaded(small_home, "docs", "--json")
    for name in ("torch", "transformers", "llama_cpp", "langchain_community",
                 "presidio_analyzer", "spacy"):
        assert name not in loaded, loaded


def test_ask_with_the_bundled_model_never_loads_it(small_home):
    """Evidence first: with the bundled model no summary is written (synthesis auto), so the
    answer comes without llama.cpp ever being imported."""
    loaded = _loaded(small_home, "ask", "What does alarm E-22 mean?")
    assert "onnxruntime" in loaded
    for name in ("torch", "llama_cpp", "langchain_community"):
        assert name not in loaded, loaded
