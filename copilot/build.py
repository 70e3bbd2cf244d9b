"""Composition root: the only place that picks concrete parts from settings."""

from __future__ import annotations

from functools import lru_cache

from knowledge import Embedder, KnowledgeBase, make_embedder

from .answering import AnswerPipeline, AnswerPolicy
from .grounding import GroundingVerifier
from .llm import ChatBackend, make_chat_model
from .prompting import PromptTemplate
from .settings import Settings, disable_telemetry_and_hub


@lru_cache(maxsize=4)
def build_embedder(name: str) -> Embedder:
    # One embedder per process: loading it costs seconds and memory.
    return make_embedder(name)


def build_knowledge_base(settings: Settings) -> KnowledgeBase:
    disable_telemetry_and_hub()
    return KnowledgeBase(settings.home_dir, build_embedder(settings.embedder),
                         chroma_url=settings.chroma_url, collection=settings.chroma_collection)


def build_chat_backend(settings: Settings) -> ChatBackend:
    disable_telemetry_and_hub()
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return make_chat_model(settings.llm, context=settings.llm_context,
                           max_tokens=settings.llm_max_tokens, threads=settings.llm_threads,
                           ollama_host=settings.ollama_host,
                           openai_base_url=settings.openai_base_url, openai_api_key=key)


def build_pipeline(settings: Settings, kb: KnowledgeBase, backend: ChatBackend) -> AnswerPipeline:
    verifier = GroundingVerifier(kb.embedder, min_similarity=settings.min_support_similarity,
                                 min_coverage=settings.min_support_coverage)
    policy = AnswerPolicy(top_k=settings.top_k,
                          min_retrieval_support=settings.min_retrieval_support,
                          confident_similarity=settings.confident_similarity,
                          min_word_coverage=settings.min_word_coverage,
                          min_kept_share=settings.min_kept_share,
                          prompt_budget=settings.prompt_budget)
    return AnswerPipeline(kb, backend, verifier, PromptTemplate.load(), policy)
