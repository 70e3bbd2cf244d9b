"""Guardrails: users and roles, PII scrubbing, injection and policy checks, audit trail.

A leaf package: it imports neither `knowledge` nor anything above it.
"""

from ._patterns import CachedEmbed
from .audit import AUDIT_ACTIONS, AuditRecord, AuditSink, AuditTrail, VerifyResult
from .audit_head import SignedHead, parse_witness
from .audit_keys import AuditKey, AuditSigner, default_key_file
from .errors import (
                     AccountError,
                     AccountStoreError,
                     AuditBusyError,
                     AuditError,
                     AuthenticationError,
                     GuardrailError,
                     InvalidUserNameError,
                     RuleFileError,
                     UnknownRoleError,
                     UnknownUserError,
                     UserExistsError,
                     WeakPasswordError,
)
from .injection import InjectionDetector, InjectionVerdict
from .limits import (
                     MAX_COMMENT_CHARS,
                     MAX_DESCRIPTION_CHARS,
                     MAX_LOGIN_NAME_CHARS,
                     MAX_PASSWORD_CHARS,
                     MAX_QUERY_CHARS,
                     MAX_QUESTION_CHARS,
                     MAX_RAW_QUESTION_CHARS,
                     InputTooLongError,
                     InvalidInputError,
                     bounded_text,
)
from .permissions import (
                     CAPABILITIES,
                     PermissionDeniedError,
                     can,
                     matrix_markdown,
                     require,
                     roles_with,
)
from .pii import (
                     ENTITY_TYPES,
                     PresidioScrubber,
                     Scrubber,
                     ScrubberUnavailableError,
                     ScrubResult,
                     ScrubSession,
                     ScrubVault,
                     Span,
)
from .policy import PolicyChecker, PolicyVerdict, refusal_message
from .regex_scrubber import RegexScrubber
from .user_store import Account, UserStore
from .users import ROLES, User, demo_user

__all__ = [
    "Account",
    "AccountError",
    "AccountStoreError",
    "AuthenticationError",
    "InvalidUserNameError",
    "UnknownUserError",
    "UserExistsError",
    "UserStore",
    "WeakPasswordError",
    "AUDIT_ACTIONS",
    "AuditBusyError",
    "AuditError",
    "AuditKey",
    "AuditRecord",
    "AuditSigner",
    "AuditSink",
    "AuditTrail",
    "CAPABILITIES",
    "CachedEmbed",
    "ENTITY_TYPES",
    "GuardrailError",
    "InjectionDetector",
    "InjectionVerdict",
    "InputTooLongError",
    "InvalidInputError",
    "MAX_COMMENT_CHARS",
    "MAX_DESCRIPTION_CHARS",
    "MAX_LOGIN_NAME_CHARS",
    "MAX_PASSWORD_CHARS",
    "MAX_QUERY_CHARS",
    "MAX_QUESTION_CHARS",
    "MAX_RAW_QUESTION_CHARS",
    "PermissionDeniedError",
    "PolicyChecker",
    "PolicyVerdict",
    "PresidioScrubber",
    "RegexScrubber",
    "ROLES",
    "RuleFileError",
    "ScrubResult",
    "ScrubSession",
    "ScrubVault",
    "Scrubber",
    "ScrubberUnavailableError",
    "SignedHead",
    "Span",
    "UnknownRoleError",
    "User",
    "VerifyResult",
    "bounded_text",
    "can",
    "default_key_file",
    "demo_user",
    "matrix_markdown",
    "parse_witness",
    "refusal_message",
    "require",
    "roles_with",
]
