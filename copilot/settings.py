"""Settings: the only reader of COPILOT_* environment variables.

Data lives in `COPILOT_HOME`, by default `.copilot` in the current working directory, so one
checkout is one self-contained plant. Demo mode (`make run`) has a home of its own,
`COPILOT_DEMO_HOME` (`.copilot-demo`), so it never opens a plant's data without login.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Each store's SQLite file, relative to the home.
HOME_FILES = {"catalog": "catalog.sqlite", "audit": "audit/audit.sqlite",
              "accounts": "users.sqlite", "training": "training/training.sqlite"}


def disable_telemetry_and_hub() -> None:
    """Offline by construction: no hub downloads, no usage pings from any library."""
    for key, value in {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "ANONYMIZED_TELEMETRY": "False",  # Chroma
        "GRADIO_ANALYTICS_ENABLED": "False",
        "LANGCHAIN_TRACING_V2": "false",  # LangSmith
        "LANGSMITH_TRACING": "false",
        "TOKENIZERS_PARALLELISM": "false",
    }.items():
        os.environ[key] = value
    # llama.cpp's OpenMP threads spin while waiting by default; when other work shares the
    # cores (the UI, the verifier, a second process) spinning threads starve it and decoding
    # collapses (measured 2.5 -> 38 tokens/s with 2 threads under load; no change when idle).
    # Must be set before llama_cpp is imported; an explicit user setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")


def private_folder(path: Path) -> Path:
    """The data home holds restricted document text, password hashes and the audit trail:
    only its owner may enter it (0700), whatever the umask; an existing open home is closed."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        try:
            path.chmod(0o700)
        except OSError:  # not ours (a shared mount): the deployment decides
            pass
    return path


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COPILOT_", extra="ignore")

    home: Path = Field(default=Path(".copilot"), description="data directory")
    audit_key_file: Path | None = Field(
        default=None, description="Ed25519 key signing the audit trail's head; must be outside "
                                  "the home. Default: ~/.config/operator-copilot/audit.key, "
                                  "created 0600 on first use")
    database_url: SecretStr | None = Field(
        default=None, description="postgresql://USER:PASSWORD@HOST:5432/DB: the catalog, audit "
                                  "trail, accounts, learner records and quiz modules in one "
                                  "PostgreSQL database that several servers share (migrate it "
                                  "with `copilot db upgrade`); unset: SQLite files in the home")
    llm: str = Field(default="embedded",
                     description="'embedded' (bundled SmolLM2 GGUF), a path to a .gguf file, "
                                 "'ollama:MODEL' or 'openai:MODEL'")
    ollama_host: str = "http://127.0.0.1:11434"
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_api_key: SecretStr | None = None
    llm_context: int = 4096
    llm_max_tokens: int = 200
    llm_threads: int = Field(default=0, description="0 = all cores")
    embedder: str = Field(
        default="minilm-int8",
        description="'minilm-int8' (all-MiniLM-L6-v2 on ONNX Runtime, an int8 export made by "
                    "make install; no torch), 'minilm' (the same weights, fp32 on torch) or a "
                    "local sentence-transformers folder. Measured: recall@1/@5 and MRR within "
                    "0.01 of fp32 on the demo and shared-corpus sets. A change re-embeds the "
                    "index on the next start")
    chroma_url: str | None = Field(default=None, description="use a `chroma run` server")
    chroma_token: SecretStr | None = Field(default=None, description="the Chroma server's auth "
                                           "token (sent as Authorization: Bearer)")
    chroma_ca_file: Path | None = Field(default=None, description="CA certificate that signed "
                                        "the Chroma server's TLS certificate")
    chroma_collection: str = Field(
        default="copilot_chunks",
        description="processes sharing a server share one collection only with one COPILOT_HOME "
                    "(its catalog decides which vectors are live); give other homes their own")
    top_k: int = 4
    synthesis: Literal["auto", "on", "off"] = Field(
        default="auto", description="a model summary after the evidence card; auto: on for "
                                    "Ollama, OpenAI-compatible servers and GGUF paths, off for "
                                    "the bundled 135M model (its sentences do not survive "
                                    "verification)")
    prompt_budget: int = Field(default=500, description="prompt tokens; CPU time to first "
                                                        "token grows with it")
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    scrub_pii: bool = Field(default=True, description="scrub personal data (Presidio)")
    check_injection: bool = Field(default=True, description="refuse prompt-injection attempts")
    check_policy: bool = Field(default=True, description="apply the site's GMP policy file")
    policy_file: Path | None = Field(default=None, description="site policy YAML; default: the "
                                                                "bundled guardrails/policy.yaml")
    training_matrix: Path | None = Field(default=None, description="roles -> required documents "
                                         "YAML; default: the demo plant's copilot/training/matrix.yaml")
    demo_mode: bool = Field(default=False, description="UI without login, a role picker instead "
                                                       "(demo plant only; `serve --demo-mode`)")
    demo_home: Path = Field(default=Path(".copilot-demo"),
                            description="the data directory demo mode uses instead of `home`: "
                                        "never a plant's home (it must hold no accounts and "
                                        "only the demo plant)")
    eval_report_dir: Path | None = Field(default=Path("evals/reports/demo"),
                                         description="evaluation report shown in the admin tab")
    # Grounding thresholds (see copilot/grounding.py).
    min_support_similarity: float = 0.55
    min_support_coverage: float = 0.5
    # Off by default: measured on the demo set with SmolLM2-135M, citing its uncited verbatim
    # copies let 37 model sentences through (0 before) but they were mostly the wrong passage
    # (scope sections, revision tables): key-fact recall fell from 0.78 to 0.61.
    min_repair_coverage: float = Field(default=1.01, description="cite an uncited sentence for "
                                       "the model when this share of its words is in one "
                                       "source (0.9 is strict); above 1 is off")
    min_retrieval_support: float = 0.35
    confident_similarity: float = 0.55
    min_word_coverage: float = 0.6
    # Support from one line when the passages as a whole are far (pipeline.AnswerPolicy).
    line_support: float = 0.55
    line_word_coverage: float = 0.4
    covered_support: float = 0.25
    min_kept_share: float = 0.5
    abandon_after_failures: int = Field(default=3, description="stop generating after this many "
                                        "unverifiable sentences with none verified; 0: never")
    # Login throttling and sessions (security review F8, F18; guardrails/login_throttle.py).
    login_lockout_after: int = Field(default=10, description="failed logins in a row that lock "
                                     "an account until an admin unlocks it; 0: never")
    login_backoff_after: int = Field(default=3, description="failed logins in a row before "
                                     "each further attempt must wait")
    login_backoff_seconds: float = Field(default=1.0, description="the first wait; it doubles "
                                         "with each further failure")
    login_backoff_max_seconds: float = 900.0
    login_audit_timeout_seconds: float = Field(default=2.0, description="a login whose audit "
                                               "record cannot be written in time is refused")
    session_idle_minutes: float = Field(default=30.0, description="log out a UI session after "
                                        "this long without any action; 0: never")
    session_max_hours: float = Field(default=12.0, description="log out a UI session this long "
                                     "after its login, however active; 0: never")

    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    # Where each store keeps its SQLite file in the home (unless COPILOT_DATABASE_URL is set);
    # spelled out here only, for build.py, `copilot db` and the UI.
    @property
    def catalog_path(self) -> Path:
        return self.home_dir / HOME_FILES["catalog"]

    @property
    def audit_path(self) -> Path:
        return self.home_dir / HOME_FILES["audit"]

    @property
    def users_path(self) -> Path:
        return self.home_dir / HOME_FILES["accounts"]

    @property
    def training_path(self) -> Path:
        return self.home_dir / HOME_FILES["training"]

    @property
    def uploads_dir(self) -> Path:
        """Uploaded documents, kept: the catalog points to its sources."""
        return self.home_dir / "uploads"
