"""Organisation names the plant's documents name are kept in questions (issue 16: firms are
not personal data, and retrieval needs their names). The Copilot's scrubber learns them from
the index when it is built and again after an ingest changes documents."""

from __future__ import annotations

LETTER = """---
doc_id: WL-TEST-001
title: "Warning Letter 320-99-01 to Quorvex Biologics GmbH"
type: sop
revision: "1"
effective_date: 2026-01-01
status: effective
access: [operator, supervisor, qa, trainer, admin]
---

# Warning Letter 320-99-01

Dear Mr. Brennan: FDA inspected Quorvex Biologics GmbH, Halle, and found that media fills
were not representative of the aseptic process.
"""

QUESTION = "When did Quorvex suspend manufacturing, according to Mr. Brennan?"


def test_the_copilots_scrubber_keeps_firms_its_documents_name(fresh_copilot, tmp_path):
    scrubber = fresh_copilot.scrubber  # built over an empty index: nothing learned
    assert "Quorvex" not in scrubber.scrub(QUESTION).text
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "wl-test-001.md").write_text(LETTER, encoding="utf-8")
    assert fresh_copilot.ingest([docs]).count("added") == 1
    scrubbed = scrubber.scrub(QUESTION).text
    assert scrubbed.startswith("When did Quorvex suspend") and "Brennan" not in scrubbed
    (docs / "wl-test-001.md").unlink()
    assert fresh_copilot.ingest([docs], sync=True).count("removed") == 1
    assert "Quorvex" not in scrubber.scrub(QUESTION).text  # the documents no longer name it
