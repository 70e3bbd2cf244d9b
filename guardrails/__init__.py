"""Guardrails: users and roles, PII scrubbing, injection and policy checks, audit trail.

A leaf package: it imports neither `knowledge` nor anything above it.
"""

from .errors import GuardrailError, UnknownRoleError
from .users import ROLES, User, demo_user

__all__ = ["GuardrailError", "ROLES", "UnknownRoleError", "User", "demo_user"]
