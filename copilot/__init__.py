"""Operator Copilot: grounded answers from a GMP plant's effective documents.

Public API: `Copilot`, `Answer`, `Citation`, `Settings`.
"""

from .answer import DECISION_SUPPORT_NOTICE, Answer, Citation, GuardVerdicts, SentenceCheck
from .api import Copilot, demo_plant_path
from .errors import AccessDeniedError, BadQuestionError, CopilotError, ModelUnavailableError
from .pipeline import AnswerEvent, CardEvent, Event, SentenceEvent
from .settings import Settings
from .sources import SourceView

# Importing copilot changes nothing in the host process: the offline and no-telemetry switches
# are set by the composition root (copilot.build) when it builds a part that needs them, and
# by the CLI at start-up.

__all__ = [
    "AccessDeniedError", "Answer", "AnswerEvent", "BadQuestionError", "CardEvent", "Citation",
    "Copilot", "CopilotError", "DECISION_SUPPORT_NOTICE", "Event", "GuardVerdicts",
    "ModelUnavailableError", "SentenceCheck", "SentenceEvent", "Settings", "SourceView",
    "demo_plant_path",
]
