"""Quiz modules and learner records on both stores: the same tests for SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import storage_pg

from copilot.training.items import Attempt, GradedAnswer, ModuleResult, QuizItem
from copilot.training.store import SCHEMA, TrainingStore, now_iso
from storage import PostgresDatabase, upgrade


@pytest.fixture()
def pg_url():
    yield from storage_pg.fresh_database_url()


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request, tmp_path):
    if request.param == "sqlite":
        return tmp_path / "training.sqlite"
    db = PostgresDatabase(request.getfixturevalue("pg_url"))
    upgrade(db, SCHEMA)
    return db


def raw(location, sql: str):
    if isinstance(location, PostgresDatabase):
        with psycopg.connect(location.url, autocommit=True) as conn:
            return conn.execute(sql).fetchall()
    with sqlite3.connect(location) as conn:
        return conn.execute(sql).fetchall()


def item(n: int, module: str = "M1") -> QuizItem:
    return QuizItem(type="true_false", stem=f"Statement {n}", options=["True", "False"],
                    key="True", doc_id="SOP-1", revision="3", section="4.1",
                    quote=f"quote {n}", module_id=module)


def result(user: str, items: list[QuizItem], passed: bool) -> ModuleResult:
    answers = [GradedAnswer(item_id=i.item_id, answer="True", correct=passed, key="True",
                            response_seconds=2.5) for i in items]
    return ModuleResult(user=user, role="operator", module_id="M1", doc_id="SOP-1",
                        revision="3", training_type="quiz", score=1.0 if passed else 0.0,
                        pass_mark=0.8, passed=passed, n_items=len(items),
                        n_correct=len(items) if passed else 0, at=now_iso(), answers=answers)


def test_modules_and_items_with_their_status_history(location):
    store = TrainingStore(location)
    store.add_module("M1", "SOP-1", "4", "Sterilisation")
    store.add_module("M1", "SOP-1", "4", "again")  # known: kept as it was
    assert [m["title"] for m in store.modules()] == ["Sterilisation"]
    items = [item(n) for n in (3, 1, 2)]
    assert store.add_items(items, "tina", "trainer") == [i.item_id for i in items]
    assert store.add_items(items[:1], "tina", "trainer") == []
    store.set_status([items[1].item_id], "approved", "reviewed", "quinn", "qa")
    assert [i.stem for i in TrainingStore(location).items(module_id="M1")] == \
        ["Statement 3", "Statement 1", "Statement 2"]  # in the order they were added
    assert [i.item_id for i in store.items(status="approved")] == [items[1].item_id]
    assert [r["status"] for r in store.status_history(items[1].item_id)] == ["draft", "approved"]
    store.add_module_event("M1", "flagged", "revision 4 is out", "tina", "trainer")
    assert store.review_state("M1") == (True, "revision 4 is out")


def test_learner_records_keep_their_attempts(location):
    store = TrainingStore(location)
    items = [item(n) for n in range(3)]
    store.add_items(items, "tina", "trainer")
    first = store.add_result(result("olga", items, passed=False))
    second = store.add_result(result("olga", items, passed=True))
    assert second.result_id > first.result_id
    single = store.add_attempt(Attempt(user="sam", role="supervisor", item_id=items[0].item_id,
                                       module_id="M1", doc_id="SOP-1", revision="3", answer="x",
                                       correct=False, response_seconds=None,
                                       training_type="review", at=now_iso()))
    assert single.attempt_id == 7
    records = TrainingStore(location).results(user="olga")
    assert [(r.passed, len(r.answers)) for r in records] == [(False, 3), (True, 3)]
    assert records[1].answers[0].response_seconds == 2.5
    assert len(store.attempts("olga")) == 6 and len(store.attempts()) == 7
    assert store.learners() == [("olga", "operator")]


def test_cards_are_replaced_and_found_when_due(location):
    store = TrainingStore(location)
    store.put_card("olga", "i1", '{"s": 1}', "2026-01-01")
    store.put_card("olga", "i1", '{"s": 2}', "2026-03-01")
    store.put_card("olga", "i2", '{"s": 1}', "2026-02-01")
    assert store.card("olga", "i1") == '{"s": 2}'
    assert store.due_cards("olga", "2026-02-15") == ["i2"]
    assert store.card("sam", "i1") is None


def test_the_database_refuses_to_change_records(location):
    store = TrainingStore(location)
    store.add_items([item(1)], "tina", "trainer")
    store.add_result(result("olga", [item(1)], passed=True))
    error = psycopg.Error if isinstance(location, PostgresDatabase) else sqlite3.DatabaseError
    for sql in ("UPDATE module_results SET passed = 1", "DELETE FROM attempts",
                "UPDATE item_status SET status = 'approved'"):
        with pytest.raises(error, match="append-only"):
            raw(location, sql)
    assert store.results()[0].passed


def test_an_unmigrated_postgresql_store_is_refused(pg_url):
    from storage import SchemaError

    with pytest.raises(SchemaError, match="copilot db upgrade"):
        TrainingStore(PostgresDatabase(pg_url))
