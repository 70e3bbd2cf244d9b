"""Operator Copilot: grounded answers from a GMP plant's effective documents.

Public API: `Copilot`, `Answer`, `Citation`, `Settings`.
"""

from .answer import DECISION_SUPPORT_NOTICE, Answer, Citation, SentenceCheck
from .api import Copilot, demo_plant_path
from .errors import AccessDeniedError, BadQuestionError, CopilotError, ModelUnavailableError
from .settings import Settings, disable_telemetry_and_hub
from .sources import SourceView

disable_telemetry_and_hub()

__all__ = [
    "AccessDeniedError", "Answer", "BadQuestionError", "Citation", "Copilot", "CopilotError",
    "DECISION_SUPPORT_NOTICE", "ModelUnavailableError", "SentenceCheck", "Settings", "SourceView",
    "demo_plant_path",
]
