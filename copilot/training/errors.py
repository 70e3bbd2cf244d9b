"""Typed errors of the training assistant; the CLI and UI turn them into messages."""

from __future__ import annotations

from ..errors import AccessDeniedError, CopilotError


class TrainingError(CopilotError):
    """Base class for every training error."""


class UnknownDocumentError(TrainingError):
    def __init__(self, doc_id: str, known: list[str]) -> None:
        self.doc_id = doc_id
        hint = f"; known documents: {', '.join(known[:20])}" if known else \
            "; the knowledge base is empty (run `copilot ingest` first)"
        super().__init__(f"unknown document {doc_id!r}{hint}")


class NotTrainableError(TrainingError):
    """The document exists but no quiz can be built from it."""

    def __init__(self, doc_id: str, reason: str) -> None:
        self.doc_id = doc_id
        self.reason = reason
        super().__init__(f"cannot build a quiz from {doc_id}: {reason}")


class UnknownSectionError(TrainingError):
    def __init__(self, doc_id: str, section: str, sections: list[str]) -> None:
        self.doc_id = doc_id
        self.section = section
        super().__init__(f"{doc_id} has no section matching {section!r}; sections: "
                         + "; ".join(sections))


class UnknownModuleError(TrainingError):
    def __init__(self, module_id: str) -> None:
        self.module_id = module_id
        super().__init__(f"unknown quiz module {module_id!r} (see `copilot quiz list`)")


class UnknownItemError(TrainingError):
    def __init__(self, item_id: str) -> None:
        self.item_id = item_id
        super().__init__(f"unknown quiz item {item_id!r}")


class NotAuthorisedError(TrainingError, AccessDeniedError):
    """The role lacks the permission (guardrails.permissions) this training action needs."""

    def __init__(self, user: str, role: str, action: str, allowed: tuple[str, ...]) -> None:
        self.user, self.role, self.action = user, role, action
        super().__init__(f"{user} (role {role}) may not {action}: only roles "
                         f"{', '.join(allowed)} may")


class RestrictedDocumentError(TrainingError, AccessDeniedError):
    """The user's role may not see the document a module, item or record comes from. It is an
    `AccessDeniedError`, so handlers that audit denied access treat it like any other."""

    def __init__(self, user: str, role: str, doc_id: str, action: str) -> None:
        self.user, self.role, self.doc_id, self.action = user, role, doc_id, action
        super().__init__(f"{user} (role {role}) may not {action}: {doc_id} is a restricted "
                         f"document and role {role} is not in its access list")


class NoApprovedItemsError(TrainingError):
    def __init__(self, module_id: str, drafts: int) -> None:
        self.module_id = module_id
        super().__init__(f"module {module_id} has no approved items to take"
                         + (f" ({drafts} drafts await approval by a trainer or QA: "
                            f"`copilot quiz approve {module_id}`)" if drafts else ""))


class MatrixConfigError(TrainingError):
    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        super().__init__(f"training matrix {path}: {reason}")
