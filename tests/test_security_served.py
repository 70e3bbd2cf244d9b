"""Security review findings reproduced through the served app's HTTP API (`gradio_client`
against `copilot serve --login`), as the review's scripts did: F6 (personal data in a
similar-deviations query reached the append-only trail), F7 (one oversized request froze the
server for everyone), F10 (naming a revision served a draft to an operator)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import UI_PASSWORD

from guardrails import AuditTrail

pytestmark = pytest.mark.slow


def client(url: str, name: str):
    from gradio_client import Client

    return Client(url + "/", auth=(name, UI_PASSWORD), verbose=False)


def test_a_similar_deviations_query_is_recorded_scrubbed(ui_server):
    url, home = ui_server
    query = ("Operator John Smith (badge 44721, phone 07700 900123) reported that HPLC system "
             "suitability failed")
    trail = AuditTrail(home / "audit" / "audit.sqlite")
    before = trail.head()[0]
    client(url, "sam").predict(query, api_name="/similar_deviations")
    recorded = json.dumps([r.details for r in trail.records() if r.seq > before])
    assert "HPLC" in recorded  # the query is there ...
    for secret in ("John Smith", "44721", "07700 900123"):
        assert secret not in recorded  # ... without the person


def test_a_megabyte_question_is_refused_at_once_and_others_are_served(ui_server):
    """The review's dos_inputs.py: 40 KB of 'a-' took 9.3 s and froze an unrelated GET for
    8.3 s; a megabyte would have taken minutes."""
    url, _ = ui_server
    olga = client(url, "olga")
    huge = "a-" * 500_000 + "a_"
    outcome: dict = {}

    def attack() -> None:
        started = time.perf_counter()
        history, _ = olga.predict(huge, [], api_name="/ask")
        outcome["attack"] = (time.perf_counter() - started, str(history[-1]["content"]))

    worker = threading.Thread(target=attack)
    worker.start()
    time.sleep(0.3)
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url + "/gradio_api/info", timeout=60) as response:
            status = response.status
    except urllib.error.HTTPError as refused:  # not logged in: answered all the same
        status = refused.code
    simple = time.perf_counter() - started
    assert status in (200, 401)
    worker.join(timeout=120)
    seconds, shown = outcome["attack"]
    assert "limit is" in shown and "1000002 characters" in shown
    assert seconds < 10 and simple < 5  # generous bounds; the old code took minutes


def test_naming_a_revision_does_not_serve_the_draft_to_an_operator(ui_server):
    url, _ = ui_server
    history, _ = client(url, "olga").predict(
        "How do I rinse the GR-04 granulator bowl, rev 2?", [], api_name="/ask")
    shown = str(history[-1]["content"])
    assert "SOP-DRF-777" not in shown and "85 °C for 3 minutes" not in shown
