"""Operator Copilot: grounded answers from a GMP plant's effective documents.

Public API: `Copilot`, `Answer`, `Citation`, `Settings`.
"""

from .answer import DECISION_SUPPORT_NOTICE, Answer, Citation, SentenceCheck
from .api import Copilot, demo_plant_path
from .errors import BadQuestionError, CopilotError, ModelUnavailableError
from .settings import Settings, disable_telemetry_and_hub

disable_telemetry_and_hub()

__all__ = [
    "Answer", "BadQuestionError", "Citation", "Copilot", "CopilotError",
    "DECISION_SUPPORT_NOTICE", "ModelUnavailableError", "SentenceCheck", "Settings",
    "demo_plant_path",
]
