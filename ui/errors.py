"""What a user is told when a handler fails (review F16).

Errors the user can act on (access denied, a question too long, a bad file, a wrong user
name) keep their message. Internal failures (the audit trail, the user store, a model, a rule
file, any unexpected exception) carry file paths and internals: the user gets a generic
message with a reference, and the details go to the server log under that reference.
Whatever is shown, absolute paths are reduced to their last part first.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import uuid
from pathlib import Path

import gradio as gr

from copilot import CopilotError, ModelUnavailableError
from copilot.training.errors import MatrixConfigError
from guardrails import AccountError, AuditError, UnknownRoleError
from guardrails.errors import AccountStoreError
from knowledge import DocumentError

log = logging.getLogger(__name__)

# Raised by the copilot layer for something the user asked or may not do; its message is
# written for them. Subclasses that wrap files, models or configuration are internal.
_INTERNAL = (AuditError, AccountStoreError, ModelUnavailableError, MatrixConfigError)
_FOR_THE_USER = (CopilotError, AccountError, UnknownRoleError, DocumentError)
# An absolute POSIX path at a word boundary ("/srv/home/audit/audit.sqlite"), with at least
# two parts so that "AC-02/AC-03" or "and/or" are left alone.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~-])/(?:[^\s/'\"`:;,()<>]+/)+([^\s/'\"`:;,()<>]*)")


def message_for(exc: BaseException, home: Path | None = None, where: str = "") -> str:
    """The text to show for `exc`: its own message for user errors, a generic one with a log
    reference for anything else."""
    if isinstance(exc, _FOR_THE_USER) and not isinstance(exc, _INTERNAL):
        if isinstance(exc, DocumentError):
            return scrub_paths(f"{exc.path.name}: {exc.reason}", home)
        return scrub_paths(str(exc), home)
    reference = uuid.uuid4().hex[:8]
    log.error("%s failed (reference %s): %r", where or "a request", reference, exc,
              exc_info=exc)
    if isinstance(exc, AuditError):
        return (f"The audit trail could not record this, so the result is withheld. Try again "
                f"in a moment; if it persists, tell your administrator (reference {reference}).")
    if isinstance(exc, ModelUnavailableError):
        return ("The chat model is not available right now. Tell your administrator "
                f"(reference {reference}).")
    return ("Something went wrong on the server. Try again; if it persists, tell your "
            f"administrator (reference {reference}).")


def scrub_paths(text: str, home: Path | None = None) -> str:
    """`text` with the data home's absolute path removed and any other absolute path cut to
    its last part: users never see where the server keeps its files."""
    text = str(text)
    if home is not None:
        for root in {str(Path(home)), str(Path(home).resolve())}:
            text = text.replace(root + "/", "").replace(root, "the data folder")
    return _ABSOLUTE_PATH.sub(lambda m: m.group(1) or "…", text)


def shown_as_gr_error(fn, home: Path | None = None):
    """`fn` (a Gradio handler) with every exception turned into a `gr.Error` carrying the
    message the user may see; the app runs with `show_error=False`, so anything else would
    be a bare "Error". The signature is kept: Gradio injects gr.Request and gr.Progress by
    inspecting it."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure gets a safe message
            # Toasts render HTML, so the message is escaped (quotes are harmless in text).
            message = html.escape(message_for(exc, home, fn.__name__), quote=False)
            raise gr.Error(message) from None
    return run
