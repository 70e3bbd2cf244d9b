"""The LangChain adapter of the chat-model seam: any `BaseChatModel` (llama.cpp in-process,
Ollama, an OpenAI-compatible server) as a `ChatBackend`. The only module of the answer path
that knows LangChain's message types."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from .base import ChatBackend


class LangChainBackend(ChatBackend):
    def __init__(self, model: BaseChatModel, name: str, context: int, *,
                 in_process: bool = False,
                 tokenizer: Callable[[str], int] | None = None) -> None:
        super().__init__(name, context, in_process=in_process, tokenizer=tokenizer)
        self.model = model

    def stream(self, system: str, user: str, stop: Sequence[str]) -> Iterator[str]:
        messages = [SystemMessage(system), HumanMessage(user)]
        for chunk in self.model.stream(messages, stop=list(stop)):
            piece = chunk.content
            if piece:
                yield piece if isinstance(piece, str) else str(piece)

    def load(self) -> None:
        loaded = getattr(self.model, "loaded", None)
        if callable(loaded):
            loaded()


class LoadsOnFirstUse:
    """Stands in for an in-process chat model until something asks the model for anything.
    With the evidence-first flow and the bundled model nothing ever does (no summary is
    written), so a cold `copilot ask` no longer imports llama.cpp and loads the GGUF (about
    2.5 s of a cold start on a loaded 2-core machine; issue 17)."""

    def __init__(self, load: Callable[[], BaseChatModel]) -> None:
        self._load = load
        self._model: BaseChatModel | None = None
        self._lock = threading.Lock()

    def loaded(self) -> BaseChatModel:
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def __getattr__(self, name: str):
        if name.startswith("_"):  # copy/pickle probes and our own fields: never load for them
            raise AttributeError(name)
        return getattr(self.loaded(), name)


__all__ = ["LangChainBackend", "LoadsOnFirstUse"]
