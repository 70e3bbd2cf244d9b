"""Training assistant: quiz modules generated from SOPs with citations, change control,
learner records, spaced repetition (FSRS), a training matrix and knowledge gaps. Everything a
user reads is filtered by their role's document access (`access.py`).

Entry point: `TrainingService(kb, audit, db_path)`.
"""

from .errors import (
                     MatrixConfigError,
                     NoApprovedItemsError,
                     NotAuthorisedError,
                     NotTrainableError,
                     RestrictedDocumentError,
                     TrainingError,
                     UnknownDocumentError,
                     UnknownItemError,
                     UnknownModuleError,
                     UnknownSectionError,
)
from .gaps import Gap
from .generator import DeterministicGenerator, ItemGenerator
from .grading import grade
from .items import (
                     DEFAULT_PASS_MARK,
                     Attempt,
                     BuildResult,
                     GradedAnswer,
                     ModuleInfo,
                     ModuleResult,
                     QuizItem,
                     RejectedItem,
)
from .matrix import STATES, MatrixConfig, MatrixRow, load_matrix
from .scheduling import rating_for
from .service import APPROVER_ROLES, ReconcileReport, TrainingService
from .validation import validate

__all__ = [
    "APPROVER_ROLES", "Attempt", "BuildResult", "DEFAULT_PASS_MARK", "DeterministicGenerator",
    "Gap", "GradedAnswer", "ItemGenerator", "MatrixConfig", "MatrixConfigError", "MatrixRow",
    "ModuleInfo", "ModuleResult", "NoApprovedItemsError", "NotAuthorisedError",
    "NotTrainableError", "QuizItem", "ReconcileReport", "RejectedItem",
    "RestrictedDocumentError", "STATES",
    "TrainingError", "TrainingService", "UnknownDocumentError", "UnknownItemError",
    "UnknownModuleError", "UnknownSectionError", "grade", "load_matrix", "rating_for",
    "validate",
]
