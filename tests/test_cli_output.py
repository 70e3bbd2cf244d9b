"""The CLI's one error mapping (`copilot.cli.output`)."""

from __future__ import annotations

import pytest
import typer

from copilot import CopilotError
from copilot.cli import output
from guardrails import GuardrailError
from knowledge import KnowledgeError
from storage import StorageError


@pytest.mark.light
def test_every_package_error_is_expected_at_the_edge():
    for error in (CopilotError, KnowledgeError, GuardrailError, StorageError):
        assert issubclass(error, output.EXPECTED_ERRORS)


@pytest.mark.light
def test_fail_prints_the_message_literally_and_exits_2(capsys):
    with pytest.raises(typer.Exit) as exited:
        output.fail(CopilotError("document [SOP-X-1] is not visible [/] to role operator"))
    assert exited.value.exit_code == 2
    assert "error: document [SOP-X-1] is not visible [/] to role operator" in capsys.readouterr().err
