"""Imports point down: ui/evals -> copilot -> knowledge, guardrails (independent leaves) -> storage."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import guardrails
import knowledge

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.light
def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(REPO / "pyproject.toml")], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def _imported_top_packages(package: str) -> set[str]:
    found = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


@pytest.mark.light
def test_leaves_import_nothing_above_or_beside_them():
    # A second, dependency-free check of the same rule, including lazy imports in functions.
    assert not _imported_top_packages("knowledge") & {"copilot", "guardrails", "ui", "evals"}
    assert not _imported_top_packages("guardrails") & {"copilot", "knowledge", "ui", "evals"}
    assert not _imported_top_packages("copilot") & {"ui", "evals"}
    assert not _imported_top_packages("storage") & {"copilot", "knowledge", "guardrails", "ui",
                                                    "evals"}


@pytest.mark.light
def test_role_lists_agree():
    assert knowledge.ROLES == guardrails.ROLES


@pytest.mark.light
def test_the_base_import_of_each_package_stays_light():
    # `import copilot` must not load a model, an index or a UI: the heavy libraries load on
    # the path that needs them (a fresh process, so earlier tests' imports do not count).
    heavy = ("torch", "chromadb", "gradio", "spacy", "presidio_analyzer", "llama_cpp",
             "sentence_transformers", "transformers", "onnxruntime", "psycopg")
    probe = ("import sys, copilot, knowledge, guardrails, storage; "
             f"print(','.join(m for m in {heavy!r} if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"heavy modules imported: {result.stdout.strip()}"


@pytest.mark.light
def test_importing_copilot_leaves_the_host_environment_alone():
    probe = ("import os; before = dict(os.environ); import copilot, knowledge, guardrails; "
             "print(sorted(k for k in os.environ if os.environ.get(k) != before.get(k)))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
