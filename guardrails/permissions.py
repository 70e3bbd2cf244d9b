"""Who may do what: the one permissions table (21 CFR 11.10(d) limits access to authorised
individuals, 11.10(g) requires authority checks).

Every path reads this table: the UI's tabs and handlers, the Python API, the CLI, the training
service, the account administration and the source viewer. Access to a *document* is a second,
independent rule: a document's own `access:` list (front matter) names the roles that may see its
text at all, and every path that shows text applies it as well (retrieval, quotes, quizzes, gaps,
exports). The site's GMP policy (`policy.yaml`) decides which *questions* are refused; its
role-aware intents are listed by `PolicyChecker`, not here.

`docs/permissions.md` is generated from this table by a test, so the printed matrix an inspector
reads is the one the code enforces.
"""

from __future__ import annotations

from types import MappingProxyType

from .errors import GuardrailError
from .users import ROLES, User

ALL_ROLES = ROLES

# capability -> (roles that hold it, what it lets them do). Read-only at run time.
_TABLE: dict[str, tuple[tuple[str, ...], str]] = {
    "ask": (ALL_ROLES, "ask questions and open cited passages of documents the role may see"),
    "train": (ALL_ROLES, "take quizzes, see one's own training status, due reviews and history"),
    "use_similar_deviations": (("supervisor", "qa", "admin"),
                               "search past deviation reports for root causes and CAPAs"),
    "see_names_in_deviations": (("qa", "admin"),
                                "see people's names in deviation reports (others see placeholders)"),
    "view_drafts": (("qa", "admin"),
                    "retrieve draft revisions (to review and approve them)"),
    "check_text": (("qa", "admin"),
                   "check a drafted text against the controlled documents"),
    "build_modules": (("trainer", "qa", "admin"), "build quiz modules from SOPs"),
    "approve_modules": (("trainer", "qa", "admin"), "approve, retire and review quiz items"),
    "view_training_matrix": (("trainer", "qa", "admin"),
                             "see everyone's training status (the training matrix)"),
    "view_gaps": (("trainer", "qa", "admin"), "see knowledge gaps (documents without modules)"),
    "ingest": (("admin",), "add, update and remove documents; re-screen the index"),
    "manage_users": (("admin",), "add users, change roles, disable, enable, unlock, list users"),
    "view_audit": (("admin",), "read, filter and verify the audit trail"),
    "export_audit": (("admin",), "export the audit trail"),
    "configure": (("admin",), "change models and settings in the Admin tab"),
}

CAPABILITIES = MappingProxyType({name: roles for name, (roles, _) in _TABLE.items()})
DESCRIPTIONS = MappingProxyType({name: text for name, (_, text) in _TABLE.items()})


class PermissionDeniedError(GuardrailError, PermissionError):
    """A role lacks the capability an action needs."""

    def __init__(self, user: User, capability: str, action: str | None = None) -> None:
        self.user = user
        self.capability = capability
        self.action = action or DESCRIPTIONS[capability]
        holders = ", ".join(CAPABILITIES[capability])
        super().__init__(f"user {user.name!r} (role {user.role}) may not {self.action}: "
                         f"that needs the '{capability}' permission, held by {holders}")


def roles_with(capability: str) -> tuple[str, ...]:
    """The roles holding `capability`; an unknown capability is a programming error."""
    try:
        return CAPABILITIES[capability]
    except KeyError:
        raise KeyError(f"unknown capability {capability!r}; known: "
                       f"{', '.join(CAPABILITIES)}") from None


def can(role: str, capability: str) -> bool:
    return role in roles_with(capability)


def require(user: User, capability: str, action: str | None = None) -> User:
    """Return `user` when the role holds `capability`, else raise `PermissionDeniedError`."""
    if not can(user.role, capability):
        raise PermissionDeniedError(user, capability, action)
    return user


def matrix_markdown() -> str:
    """The role × capability matrix, as printed into docs/permissions.md."""
    head = "| capability | what it allows | " + " | ".join(ALL_ROLES) + " |"
    rule = "|---|---|" + "---|" * len(ALL_ROLES)
    rows = [f"| `{name}` | {DESCRIPTIONS[name]} | "
            + " | ".join("yes" if role in roles else "—" for role in ALL_ROLES) + " |"
            for name, roles in CAPABILITIES.items()]
    return "\n".join([head, rule, *rows]) + "\n"


__all__ = ["ALL_ROLES", "CAPABILITIES", "DESCRIPTIONS", "PermissionDeniedError", "can",
           "matrix_markdown", "require", "roles_with"]
