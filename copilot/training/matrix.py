"""The training matrix: roles -> required documents (YAML), and per user and document the
state of their training against the document's effective revision."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from guardrails import ROLES, User
from knowledge import KnowledgeBase

from .access import DocumentAccess
from .errors import MatrixConfigError
from .items import TRAINING_TYPES, ModuleResult

State = Literal["current", "due", "overdue", "retraining_needed", "never_trained"]
STATES: tuple[str, ...] = ("current", "due", "overdue", "retraining_needed", "never_trained")


class MatrixConfig(BaseModel):
    retraining_interval_days: int = Field(365, gt=0)
    due_window_days: int = Field(30, ge=0)
    counts_as_trained: list[str] = Field(default_factory=lambda: ["quiz", "review"])
    roles: dict[str, list[str]] = Field(default_factory=dict)

    def required(self, role: str) -> list[str]:
        return list(self.roles.get(role, []))


class MatrixRow(BaseModel):
    user: str
    role: str
    doc_id: str
    title: str
    state: State
    effective_revision: str  # "" when the document is not in the knowledge base
    trained_revision: str = ""
    last_passed: str = ""  # date of the last pass, ISO
    due_date: str = ""  # when retraining falls due, ISO
    note: str = ""


def default_matrix_path() -> Path:
    return Path(str(resources.files("copilot.training").joinpath("matrix.yaml")))


def load_matrix(path: Path | None = None) -> MatrixConfig:
    path = Path(path) if path else default_matrix_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise MatrixConfigError(str(path), f"cannot read it: {exc}") from exc
    except yaml.YAMLError as exc:
        raise MatrixConfigError(str(path), f"not valid YAML: {exc}") from exc
    try:
        config = MatrixConfig(**data)
    except (ValidationError, TypeError) as exc:
        raise MatrixConfigError(str(path), str(exc)) from exc
    unknown = sorted(set(config.roles) - set(ROLES))
    if unknown:
        raise MatrixConfigError(str(path), f"unknown roles {unknown}; roles: {', '.join(ROLES)}")
    bad = sorted(set(config.counts_as_trained) - set(TRAINING_TYPES))
    if bad:
        raise MatrixConfigError(str(path), f"unknown training types {bad}; types: "
                                           f"{', '.join(TRAINING_TYPES)}")
    return config


def training_state(config: MatrixConfig, results: list[ModuleResult], effective_revision: str,
                   today: date) -> tuple[State, ModuleResult | None, date | None]:
    """State of one user on one document from their results (oldest first)."""
    passes = [r for r in results if r.passed and r.training_type in config.counts_as_trained]
    if not passes:
        return "never_trained", None, None
    last = passes[-1]
    passed_on = datetime.fromisoformat(last.at).date()
    due = passed_on + timedelta(days=config.retraining_interval_days)
    if effective_revision and last.revision != effective_revision:
        return "retraining_needed", last, due
    if today > due:
        return "overdue", last, due
    if today > due - timedelta(days=config.due_window_days):
        return "due", last, due
    return "current", last, due


def matrix_rows(config: MatrixConfig, kb: KnowledgeBase, users: Iterable[User],
                results: list[ModuleResult], today: date | None,
                viewer: DocumentAccess) -> list[MatrixRow]:
    """One row per user and required document. Titles are shown only where the `viewer`'s
    role may see the document: a trainer tracks QA's training on a QA-only SOP by its id
    (which the site's matrix file already names) without learning what it is about."""
    today = today or date.today()
    rows = []
    docs = {}
    for user in users:
        for doc_id in config.required(user.role):
            if doc_id not in docs:
                docs[doc_id] = kb.document(doc_id)
            doc = docs[doc_id]
            effective = doc.revision if doc is not None and doc.status == "effective" else ""
            mine = [r for r in results if r.user == user.name and r.doc_id == doc_id]
            state, last, due = training_state(config, mine, effective, today)
            rows.append(MatrixRow(
                user=user.name, role=user.role, doc_id=doc_id,
                title=viewer.title(doc_id), state=state, effective_revision=effective,
                trained_revision=last.revision if last else "",
                last_passed=last.at[:10] if last else "", due_date=due.isoformat() if due else "",
                note="" if doc else "not in the knowledge base"))
    return rows
