"""Training changes are audited before they take effect: a trail that is down stores nothing.

The service runs on the real demo knowledge base with a real training store and a real
signed audit trail in a temporary folder; `Outage` passes records to that trail until it is
told the trail is down, then raises as a full disk or a lost key would.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from copilot.training import TrainingService
from guardrails import AuditError, AuditRecord, AuditSink, AuditTrail, User

TRAINER = User("tess", "trainer")
TABLES = ("modules", "module_events", "items", "item_status")


class Outage(AuditSink):
    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail
        self.down = False

    def append(self, user: str, role: str, action: str,
               details: Mapping[str, Any]) -> AuditRecord:
        if self.down:
            raise AuditError(self.trail.path, "disk full")
        return self.trail.append(user, role, action, details)

    def records(self, *args, **kwargs):
        return self.trail.records(*args, **kwargs)

    def verify(self, witness=()):
        return self.trail.verify(witness)

    def export(self, *args, **kwargs):
        return self.trail.export(*args, **kwargs)


@pytest.fixture()
def sink(tmp_path) -> Outage:
    return Outage(AuditTrail(tmp_path / "audit" / "audit.sqlite",
                             key_file=tmp_path / "keys" / "audit.key"))


@pytest.fixture()
def service(demo_copilot, sink, tmp_path) -> TrainingService:
    return TrainingService(demo_copilot.kb, sink, tmp_path / "training.sqlite")


def rows(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
    conn.close()
    return counts


def test_a_build_the_trail_cannot_record_stores_nothing(service, sink):
    sink.down = True
    with pytest.raises(AuditError, match="disk full"):
        service.build_module("SOP-STE-001", user=TRAINER)
    assert rows(service.store.path) == dict.fromkeys(TABLES, 0)
    assert service.modules(TRAINER) == []
    assert sink.trail.records() == []


def test_the_build_record_counts_new_items_before_they_are_stored(service, sink):
    first = service.build_module("SOP-STE-001", user=TRAINER)
    again = service.build_module("SOP-STE-001", user=TRAINER)
    builds = [r.details for r in sink.trail.records(action="config_change")]
    assert [b["kind"] for b in builds] == ["quiz_build", "quiz_build"]
    assert builds[0]["new_items"] == builds[0]["items"] == len(first.items) > 0
    assert builds[1]["new_items"] == 0 and builds[1]["items"] == len(again.items)
    assert sink.trail.verify().ok


def test_an_approval_or_retirement_the_trail_cannot_record_changes_nothing(service, sink):
    module_id = service.build_module("SOP-STE-001", user=TRAINER).module_id
    before = rows(service.store.path)
    sink.down = True
    with pytest.raises(AuditError):
        service.approve(module_id, TRAINER)
    assert {i.status for i in service.items(module_id, TRAINER)} == {"draft"}
    item_id = service.items(module_id, TRAINER)[0].item_id
    with pytest.raises(AuditError):
        service.retire([item_id], TRAINER, "ambiguous wording")
    assert service.item(item_id, TRAINER).status == "draft"
    assert rows(service.store.path) == before
    # With the trail back, both go through and each has its record.
    sink.down = False
    assert service.approve(module_id, TRAINER) == before["items"]
    assert service.retire([item_id], TRAINER, "ambiguous wording") == 1
    kinds = [r.details["kind"] for r in sink.trail.records(action="config_change")]
    assert kinds == ["quiz_build", "quiz_approve", "quiz_retire"]
