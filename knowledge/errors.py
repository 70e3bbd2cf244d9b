"""Typed errors of the knowledge base. Turned into messages only at the edges (CLI, UI)."""

from __future__ import annotations

from pathlib import Path


class KnowledgeError(Exception):
    """Base class for every error raised by `knowledge`."""


class DocumentError(KnowledgeError):
    """A source file could not be loaded. Names the file and the reason."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class DocumentLimitError(DocumentError):
    """A source file over one of the loader's bounds (file size, inflated DOCX size, paragraph
    count, front-matter size or nesting, YAML aliases). Refused before parsing where possible,
    because one such upload cost minutes of CPU and gigabytes of memory (review F7d)."""


class MissingDependencyError(KnowledgeError):
    """A heavy optional library is not installed; says how to install it."""

    def __init__(self, package: str, install: str) -> None:
        self.package = package
        self.install = install
        super().__init__(f"{package} is not installed. Install it with: {install}")


class ModelLoadError(KnowledgeError):
    """An embedding model could not be loaded. Never silently replaced by a fake."""

    def __init__(self, model: str, reason: str) -> None:
        self.model = model
        self.reason = reason
        super().__init__(f"embedding model {model!r} could not be loaded: {reason}")

