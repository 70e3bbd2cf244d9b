"""Server backends: Ollama's native API and any OpenAI-compatible server (vLLM, llama.cpp
server, LM Studio, Ollama's /v1). The only module that imports their LangChain packages."""

from __future__ import annotations

import importlib.util

from langchain_core.language_models.chat_models import BaseChatModel

from ..errors import ModelUnavailableError


def _require(module: str, package: str, spec: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ModelUnavailableError(spec, f"{package} is not installed; run: pip install {package}")


def ollama_model(name: str, *, host: str, context: int, max_tokens: int) -> BaseChatModel:
    spec = f"ollama:{name}"
    _require("langchain_ollama", "langchain-ollama==1.1.0", spec)
    from langchain_ollama import ChatOllama

    return ChatOllama(model=name, base_url=host, temperature=0.0, num_ctx=context,
                      num_predict=max_tokens, keep_alive="30m")


def openai_compatible_model(name: str, *, base_url: str, api_key: str | None,
                            max_tokens: int) -> BaseChatModel:
    spec = f"openai:{name}"
    _require("langchain_openai", "langchain-openai==1.7.4", spec)
    from langchain_openai import ChatOpenAI

    # Local servers ignore the key, but the client insists on one. The checker sees pydantic
    # fields by their aliases (max_tokens is max_completion_tokens) and api_key as the
    # SecretStr that pydantic makes of the str.
    return ChatOpenAI(model=name, base_url=base_url,
                      api_key=api_key or "not-needed",  # type: ignore[arg-type]
                      temperature=0.0, max_tokens=max_tokens,  # type: ignore[call-arg]
                      streaming=True, max_retries=1, timeout=120)
