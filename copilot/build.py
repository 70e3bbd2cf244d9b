"""Composition root: the only place that picks concrete parts from settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from guardrails import AuditTrail, CachedEmbed, InjectionDetector, PolicyChecker, UserStore
from knowledge import Embedder, Hit, KnowledgeBase, make_embedder
from storage import Database, StorageError, open_database

from .answering import AnswerPipeline, AnswerPolicy
from .errors import CopilotError
from .grounding import GroundingVerifier
from .guarding import QuestionGate
from .llm import ChatBackend, make_chat_model
from .prompting import PromptTemplate
from .settings import Settings, disable_telemetry_and_hub, private_folder


@lru_cache(maxsize=4)
def build_embedder(name: str) -> Embedder:
    # One embedder per process: loading it costs seconds and memory.
    return make_embedder(name)


@lru_cache(maxsize=4)
def build_guard_embed(name: str) -> CachedEmbed:
    # The injection and policy checks share one cache: a question is embedded once for both.
    return CachedEmbed(build_embedder(name).embed)


@lru_cache(maxsize=4)
def build_injection_detector(embedder_name: str) -> InjectionDetector:
    return InjectionDetector(embed=build_guard_embed(embedder_name))


@lru_cache(maxsize=4)
def build_policy_checker(embedder_name: str) -> PolicyChecker:
    return PolicyChecker(embed=build_guard_embed(embedder_name))


def build_knowledge_base(settings: Settings) -> KnowledgeBase:
    disable_telemetry_and_hub()
    # Every chunk is screened for hidden instructions at ingest: rules on all of it, the
    # embedder only on the few sentences that talk to or about a model.
    screen = build_injection_detector(settings.embedder).score_document
    token = settings.chroma_token.get_secret_value() if settings.chroma_token else None
    return KnowledgeBase(private_folder(settings.home_dir), build_embedder(settings.embedder),
                         chroma_url=settings.chroma_url, collection=settings.chroma_collection,
                         screen=screen, chroma_token=token,
                         chroma_ca_file=settings.chroma_ca_file,
                         catalog_db=build_database(settings, settings.catalog_path))


def build_database(settings: Settings, sqlite_path: Path) -> Database:
    """The shared PostgreSQL database when COPILOT_DATABASE_URL is set, else the home's file."""
    url = settings.database_url.get_secret_value() if settings.database_url else None
    try:
        return open_database(url, sqlite_path)
    except StorageError as exc:
        raise CopilotError(str(exc)) from exc


def build_user_store(settings: Settings) -> UserStore:
    return UserStore(build_database(settings, settings.users_path))


def build_training_database(settings: Settings) -> Database:
    """Quiz modules and learner records (TrainingService's store)."""
    return build_database(settings, settings.training_path)


def build_audit_trail(settings: Settings) -> AuditTrail:
    """The trail of `settings`' home, signed with the configured key (kept outside the home)."""
    home = settings.home_dir
    key_file = settings.audit_key_file.expanduser().resolve() if settings.audit_key_file else None
    if key_file is not None and key_file.is_relative_to(home):
        # Whoever can rewrite the home could then also read the key and re-sign a forged head.
        raise CopilotError(f"COPILOT_AUDIT_KEY_FILE {key_file} is inside COPILOT_HOME {home}; "
                           "keep the audit key outside the data home")
    return AuditTrail(build_database(settings, settings.audit_path),
                      key_file=key_file)


def build_chat_backend(settings: Settings) -> ChatBackend:
    disable_telemetry_and_hub()
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    return make_chat_model(settings.llm, context=settings.llm_context,
                           max_tokens=settings.llm_max_tokens, threads=settings.llm_threads,
                           ollama_host=settings.ollama_host,
                           openai_base_url=settings.openai_base_url, openai_api_key=key)


def build_pipeline(settings: Settings, kb: KnowledgeBase, backend: ChatBackend,
                   prepare_hits: Callable[[list[Hit]], list[Hit]] | None = None) -> AnswerPipeline:
    verifier = GroundingVerifier(kb.embedder, min_similarity=settings.min_support_similarity,
                                 min_coverage=settings.min_support_coverage,
                                 min_repair_coverage=settings.min_repair_coverage)
    policy = AnswerPolicy(top_k=settings.top_k,
                          min_retrieval_support=settings.min_retrieval_support,
                          confident_similarity=settings.confident_similarity,
                          min_word_coverage=settings.min_word_coverage,
                          min_kept_share=settings.min_kept_share,
                          prompt_budget=settings.prompt_budget,
                          abandon_after_failures=settings.abandon_after_failures,
                          synthesis=synthesis_enabled(settings))
    return AnswerPipeline(kb, backend, verifier, PromptTemplate.load(), policy,
                          prepare_hits=prepare_hits)


def synthesis_enabled(settings: Settings) -> bool:
    """`auto` writes summaries with a model server only (Ollama, OpenAI-compatible). Measured
    on the demo CI set (evals/reports/synthesis/): no sentence of the bundled SmolLM2-135M nor
    of an in-process Qwen2.5-Coder-1.5B GGUF survived verification (the larger one wrote 6
    wrong claims of 15, and 11-25 s per question on 2 cores), so with an in-process model the
    card stands alone and the operator never waits for generation; `on` still forces it."""
    if settings.synthesis != "auto":
        return settings.synthesis == "on"
    return settings.llm.startswith(("ollama:", "openai:"))


def build_question_gate(settings: Settings, embedder: Embedder) -> QuestionGate:
    """Injection and policy checks for questions, sharing the ingest screen's cached models."""
    injection = build_injection_detector(settings.embedder) if settings.check_injection else None
    policy = None
    if settings.check_policy:
        policy = (PolicyChecker(settings.policy_file, embed=build_guard_embed(settings.embedder))
                  if settings.policy_file else build_policy_checker(settings.embedder))
    return QuestionGate(injection, policy, model_name=settings.llm,
                        prompt_version=PromptTemplate.load().version)
