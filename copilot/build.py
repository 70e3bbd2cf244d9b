"""Composition root: the only place that picks concrete parts from settings.

`build_copilot(settings)` builds every part of a `Copilot` once: the knowledge base, the audit
trail, the PII scrubber, the chat model, the answer pipeline, the question gate, the accounts
and the training service. The slow ones (the chat model, the PII models, the guards' exemplars)
and the ones that open a database of their own (accounts, training) are `Lazy` parts, built on
first use. The CLIs take their parts from here too (`build_accounts`, `build_training`,
`build_audit_trail`, `build_guard_scanner` ...), so each part is chosen in one place.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from guardrails import (
    AuditSink,
    AuditTrail,
    CachedEmbed,
    InjectionDetector,
    PolicyChecker,
    PresidioScrubber,
    Scrubber,
    UserStore,
)
from knowledge import Embedder, Hit, KnowledgeBase, make_embedder
from storage import Database, StorageError, open_database

from .api import Copilot, learn_document_organisations
from .errors import CopilotError
from .grounding import GroundingVerifier
from .guarding import GuardScanner, QuestionGate
from .lazy import Lazy
from .llm import ChatBackend, make_chat_model
from .pipeline import AnswerPipeline, AnswerPolicy
from .prompting import PromptTemplate
from .settings import Settings, disable_telemetry_and_hub, private_folder
from .sources import deviation_redactor
from .training import TrainingService
from .user_admin import Accounts, login_policy


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


def build_verifier(settings: Settings, embedder: Embedder) -> GroundingVerifier:
    """The grounding verifier of the answers and of `check_text`, with settings' thresholds."""
    return GroundingVerifier.from_settings(settings, embedder)


def build_pipeline(settings: Settings, kb: KnowledgeBase, backend: ChatBackend,
                   prepare_hits: Callable[[list[Hit]], list[Hit]] | None = None,
                   prompt: PromptTemplate | None = None,
                   verifier: GroundingVerifier | None = None) -> AnswerPipeline:
    policy = AnswerPolicy(top_k=settings.top_k,
                          min_retrieval_support=settings.min_retrieval_support,
                          confident_similarity=settings.confident_similarity,
                          min_word_coverage=settings.min_word_coverage,
                          line_support=settings.line_support,
                          line_word_coverage=settings.line_word_coverage,
                          covered_support=settings.covered_support,
                          min_kept_share=settings.min_kept_share,
                          prompt_budget=settings.prompt_budget,
                          abandon_after_failures=settings.abandon_after_failures,
                          synthesis=synthesis_enabled(settings))
    return AnswerPipeline(kb, backend, verifier or build_verifier(settings, kb.embedder),
                          prompt or PromptTemplate.load(), policy, prepare_hits=prepare_hits)


def synthesis_enabled(settings: Settings) -> bool:
    """`auto` writes summaries with a model server only (Ollama, OpenAI-compatible). Measured
    on the demo CI set (evals/reports/synthesis/): no sentence of the bundled SmolLM2-135M nor
    of an in-process Qwen2.5-Coder-1.5B GGUF survived verification (the larger one wrote 6
    wrong claims of 15, and 11-25 s per question on 2 cores), so with an in-process model the
    card stands alone and the operator never waits for generation; `on` still forces it."""
    if settings.synthesis != "auto":
        return settings.synthesis == "on"
    return settings.llm.startswith(("ollama:", "openai:"))


def build_question_gate(settings: Settings, embedder: Embedder | None = None,
                        prompt: PromptTemplate | None = None) -> QuestionGate:
    """Injection and policy checks for questions, sharing the ingest screen's cached models
    (`embedder` is unused: the guards share one cached embedding of `settings.embedder`)."""
    injection = build_injection_detector(settings.embedder) if settings.check_injection else None
    policy = None
    if settings.check_policy:
        policy = (PolicyChecker(settings.policy_file, embed=build_guard_embed(settings.embedder))
                  if settings.policy_file else build_policy_checker(settings.embedder))
    return QuestionGate(injection, policy, model_name=settings.llm,
                        prompt_version=(prompt or PromptTemplate.load()).version)


def build_guard_scanner(settings: Settings) -> GuardScanner:
    """`copilot guard scan`'s guards: always the PII scrubber, and the packaged injection rules
    and site policy on the shared cached embedder."""
    return GuardScanner(PresidioScrubber(), build_injection_detector(settings.embedder),
                        build_policy_checker(settings.embedder))


def build_scrubber(settings: Settings) -> Scrubber | None:
    """The PII scrubber (spaCy and Presidio load here), or None with COPILOT_SCRUB_PII off."""
    return PresidioScrubber() if settings.scrub_pii else None


def build_accounts(settings: Settings, audit: AuditSink, read_only: str | None = None) -> Accounts:
    """User accounts over the home's (or the shared database's) user store; `read_only` says
    why accounts cannot be changed through this instance, if they cannot."""
    return Accounts(build_user_store(settings), audit, policy=login_policy(settings),
                    login_timeout=settings.login_audit_timeout_seconds, read_only=read_only)


def build_training(settings: Settings, kb: KnowledgeBase, audit: AuditSink) -> TrainingService:
    """Quiz modules, learner records and the training matrix (a site's own matrix file when
    settings name one, else the packaged demo matrix)."""
    return TrainingService(kb, audit, build_training_database(settings), settings.training_matrix)


def build_copilot(settings: Settings | None = None, *, kb: KnowledgeBase | None = None,
                  backend: ChatBackend | None = None, audit: AuditSink | None = None,
                  scrubber: Scrubber | None = None) -> Copilot:
    """A Copilot with every part as `settings` choose; `kb`, `backend`, `audit` and `scrubber`
    replace the configured part (a test's fakes, a shared index)."""
    settings = settings or Settings()
    kb = kb if kb is not None else build_knowledge_base(settings)
    audit = audit if audit is not None else build_audit_trail(settings)
    prompt = PromptTemplate.load()
    verifier = build_verifier(settings, kb.embedder)
    scrubber_part: Lazy[Scrubber | None] = (
        Lazy.of(scrubber) if scrubber is not None
        else Lazy(lambda: learn_document_organisations(build_scrubber(settings), kb)))
    backend_part = (Lazy.of(backend) if backend is not None
                    else Lazy(lambda: build_chat_backend(settings)))
    pipeline = Lazy(lambda: build_pipeline(
        settings, kb, backend_part.get(), prompt=prompt, verifier=verifier,
        # Names in deviation passages never reach the model or a quote.
        prepare_hits=deviation_redactor(scrubber_part.get())))
    # Demo mode has no login: an account made there would be anyone's.
    read_only = "demo mode has no login" if settings.demo_mode else None
    return Copilot(settings, kb, audit=audit, scrubber=scrubber_part, backend=backend_part,
                   pipeline=pipeline,
                   gate=Lazy(lambda: build_question_gate(settings, prompt=prompt)),
                   accounts=Lazy(lambda: build_accounts(settings, audit, read_only)),
                   training=Lazy(lambda: build_training(settings, kb, audit)),
                   verifier=verifier)
