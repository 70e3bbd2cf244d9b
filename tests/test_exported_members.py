"""Each package's public surface is exactly its `__all__` (as httpx pins its own): a name added
without being exported, or exported without existing, fails here."""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = ("copilot", "knowledge", "guardrails", "storage")


@pytest.mark.light
@pytest.mark.parametrize("package", PACKAGES)
def test_public_names_are_exactly_all(package):
    module = importlib.import_module(package)
    public = {name for name in dir(module) if not name.startswith("_")
              and not isinstance(getattr(module, name), types.ModuleType)
              and name != "annotations"}
    exported = set(module.__all__)
    assert exported - set(dir(module)) == set(), "exported but not defined"
    assert public - exported == set(), "public but not in __all__"
    assert len(module.__all__) == len(exported), "listed twice in __all__"


@pytest.mark.light
def test_the_answer_stream_types_are_exported():
    import copilot

    assert {"Answer", "Citation", "Event", "Copilot", "Settings"} <= set(copilot.__all__)
