"""What every `copilot` command shares at the edge: the two consoles, the errors a command
expects (their messages are written for the user), and one way to fail with one of them."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from guardrails import GuardrailError
from knowledge import KnowledgeError
from storage import StorageError

from ..errors import CopilotError

out = Console()
err = Console(stderr=True)

# Raised for something the user asked for or may not do: shown as "error: <message>", exit 2.
# Anything else is a bug and keeps its traceback.
EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    CopilotError, KnowledgeError, GuardrailError, StorageError)


def fail(exc: Exception, code: int = 2) -> NoReturn:
    # escaped: a message may quote "[DOC_ID]" or other brackets rich would read as markup
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
    raise typer.Exit(code)


__all__ = ["EXPECTED_ERRORS", "err", "fail", "out"]
