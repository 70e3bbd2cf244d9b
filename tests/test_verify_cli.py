"""`copilot verify` as QA runs it: a subprocess against a home with the demo plant ingested."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

COPILOT = str(Path(sys.executable).with_name("copilot"))


@pytest.fixture(scope="module")
def run(demo_home, tmp_path_factory):
    home = tmp_path_factory.mktemp("verify") / "home"
    shutil.copytree(demo_home, home)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COPILOT_")}
    env["COPILOT_HOME"] = str(home)

    def _run(*args, stdin=None):
        return subprocess.run([COPILOT, "verify", *args], env=env, input=stdin,
                              capture_output=True, text=True, timeout=600)
    return _run


def test_text_checked_against_a_document(run):
    done = run("--json", "--doc", "SOP-STE-001",
               "The leak rate must not exceed 1.3 mbar/min. Sterilised packs must be used "
               "within 14 days.")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    first, second = result["sentences"]
    assert first["supported"] and first["doc"] == "SOP-STE-001" and first["revision"] == "5"
    assert not second["supported"] and "14" in second["reason"]
    assert result["supported"] is False and len(result["reasons"]) == 1


def test_inline_citations_name_the_documents(run):
    done = run("--json", "On E-22, do not open the door to the clean side [SOP-STE-001]. "
                         "On E-22, open the door to the clean side [SOP-STE-001].")
    assert done.returncode == 0, done.stderr
    kept, flipped = json.loads(done.stdout)["sentences"]
    assert kept["supported"] and not flipped["supported"]
    assert "negation" in flipped["reason"]


def test_jsonl_batch_goes_on_past_bad_lines(run, tmp_path):
    lines = [
        {"id": "ok", "claim": "Open the door on the clean side.",
         "passage": "Do not open the door on the clean side."},
        "not json at all",
        {"id": "nodoc", "claim": "Leak rate 1.3 mbar/min.", "doc": "SOP-NOPE-404"},
        {"id": "noclaim", "doc": "SOP-STE-001"},
        {"id": "doc", "claim": "Do not exceed a total load mass of 45 kg.", "doc": "SOP-STE-001"},
    ]
    path = tmp_path / "claims.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    done = run("--jsonl", str(path))
    assert done.returncode == 1  # some lines errored (documented in --help)
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["ok", None, "nodoc", "noclaim", "doc"]
    assert out[0]["supported"] is False and out[0]["reasons"]
    assert out[1]["line"] == 2 and "JSON" in out[1]["error"]
    assert out[2]["line"] == 3 and "SOP-NOPE-404" in out[2]["error"]
    assert out[3]["line"] == 4 and "claim" in out[3]["error"]
    assert out[4]["supported"] is True and out[4]["sentences"][0]["doc"] == "SOP-STE-001"


def test_a_role_that_may_not_see_the_document_gets_an_error(run):
    # DEV-2025-014 is for supervisors, QA and admins only.
    denied = run("--json", "--role", "operator", "--doc", "DEV-2025-014", "The alarm was recorded.")
    assert denied.returncode == 1
    assert "operator" in json.loads(denied.stdout)["error"]
    allowed = run("--json", "--doc", "DEV-2025-014", "The alarm was recorded.")  # default: qa
    assert allowed.returncode == 0 and "error" not in json.loads(allowed.stdout)


def test_help_names_the_exit_codes(run):
    done = run("--help")
    assert done.returncode == 0 and "Exit codes" in done.stdout and "1 at least one" in done.stdout
