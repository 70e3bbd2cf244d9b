"""The public Python API: `Copilot.from_settings().ask(question, user=...)`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from pathlib import Path

from guardrails import User, demo_user
from knowledge import FileResult, Hit, IngestReport, KnowledgeBase, SearchFilter

from .answer import Answer
from .answering import AnswerPipeline, Event
from .build import build_chat_backend, build_knowledge_base, build_pipeline
from .llm import ChatBackend
from .settings import Settings


def demo_plant_path() -> Path:
    """The bundled demo plant (package data), usable from an installed package."""
    return Path(str(resources.files("copilot").joinpath("demo_plant")))


class Copilot:
    def __init__(self, settings: Settings, kb: KnowledgeBase,
                 backend: ChatBackend | None = None) -> None:
        self.settings = settings
        self.kb = kb
        self._backend = backend
        self._pipeline: AnswerPipeline | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Copilot:
        settings = settings or Settings()
        return cls(settings, build_knowledge_base(settings))

    # The chat model loads on first use: ingest and search never pay for it.
    @property
    def pipeline(self) -> AnswerPipeline:
        if self._pipeline is None:
            if self._backend is None:
                self._backend = build_chat_backend(self.settings)
            self._pipeline = build_pipeline(self.settings, self.kb, self._backend)
        return self._pipeline

    def ask(self, question: str, user: User | None = None) -> Answer:
        """Answer from the effective documents the user may see, or decline."""
        user = user or demo_user()
        return self.pipeline.answer(question, role=user.role)

    def ask_stream(self, question: str, user: User | None = None) -> Iterator[Event]:
        """Verified sentences as they are produced, then the final `Answer`."""
        user = user or demo_user()
        return self.pipeline.stream(question, role=user.role)

    def search(self, query: str, k: int = 5, user: User | None = None,
               doc_types: Iterable[str] = (), mode: str = "hybrid") -> list[Hit]:
        user = user or demo_user()
        return self.kb.search(query, k=k, mode=mode,
                              filters=SearchFilter(role=user.role, doc_types=tuple(doc_types)))

    def ingest(self, paths: Iterable[Path | str], sync: bool = False,
               on_file: Callable[[FileResult], None] | None = None) -> IngestReport:
        return self.kb.ingest(paths, sync=sync, on_file=on_file)

    def ensure_demo_plant(self) -> IngestReport | None:
        """Ingest the bundled demo plant when the index is empty."""
        if self.kb.is_empty():
            return self.ingest([demo_plant_path()])
        return None
