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
