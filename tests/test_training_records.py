"""Grading, learner records, approval, FSRS scheduling and knowledge gaps on the real demo KB."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from fsrs import Rating

from copilot.training import (
    NoApprovedItemsError,
    NotAuthorisedError,
    QuizItem,
    TrainingError,
    TrainingService,
    grade,
    rating_for,
)
from copilot.training.generator import LETTERS
from guardrails import User


@pytest.fixture()
def service(demo_copilot, tmp_path) -> TrainingService:
    return TrainingService(demo_copilot.kb, demo_copilot.audit, tmp_path / "training.sqlite")


TRAINER = User("tess", "trainer")
OPERATOR = User("olga", "operator")


@pytest.fixture()
def approved(service) -> str:
    result = service.build_module("SOP-STE-001")
    service.approve(result.module_id, TRAINER)
    return result.module_id


def _right(item: QuizItem) -> str:
    return item.key


def _wrong(item: QuizItem) -> str:
    if item.type == "true_false":
        return "False" if item.key == "True" else "True"
    if item.type == "ordering":
        return ",".join(sorted(item.key.split(",")))  # the shown order is never the key
    if item.type == "numeric":
        return "99999"
    return next(o for o in item.options if o != item.key)


# -- grading -----------------------------------------------------------------------------------

def test_grading_accepts_letters_text_and_units(service):
    items = service.build_module("SOP-STE-001").items
    choice = next(i for i in items if i.type == "multiple_choice")
    letter = LETTERS[choice.options.index(choice.key)]
    assert grade(choice, letter) and grade(choice, letter.lower() + ")")
    assert grade(choice, choice.key.upper()) and not grade(choice, _wrong(choice))
    assert grade(choice, str(choice.options.index(choice.key) + 1))

    tf = next(i for i in items if i.type == "true_false")
    assert grade(tf, tf.key.lower()[0]) and not grade(tf, _wrong(tf)) and not grade(tf, "maybe")

    order = next(i for i in items if i.type == "ordering")
    assert grade(order, order.key.replace(",", " ").lower())
    assert not grade(order, _wrong(order))

    numeric = next(i for i in items if i.type == "numeric" and "1.3 mbar/min" == i.key)
    assert grade(numeric, "1.3") and grade(numeric, "1.3 mbar/min") and grade(numeric, "1,3")
    assert not grade(numeric, "1.3 min") and not grade(numeric, "13") and not grade(numeric, "")


# -- change control ----------------------------------------------------------------------------

def test_only_trainer_qa_or_admin_may_approve(service):
    module = service.build_module("SOP-QA-010").module_id
    with pytest.raises(NotAuthorisedError, match="olga \\(role operator\\) may not approve"):
        service.approve(module, OPERATOR)
    with pytest.raises(NoApprovedItemsError, match="drafts await approval"):
        service.questions(module, OPERATOR)
    drafts = len(service.items(module, TRAINER, "draft"))
    assert drafts > 0 and service.approve(module, User("quinn", "qa")) == drafts
    assert service.items(module, TRAINER, "draft") == []
    assert service.approve(module, TRAINER) == 0  # nothing left to approve


def test_retire_takes_an_item_out_of_quizzes(service, approved):
    first = service.questions(approved, OPERATOR)[0]
    with pytest.raises(NotAuthorisedError):
        service.retire([first.item_id], OPERATOR, "wrong")
    assert service.retire([first.item_id], TRAINER, "ambiguous wording") == 1
    assert first.item_id not in {i.item_id for i in service.questions(approved, OPERATOR)}
    assert service.item(first.item_id, TRAINER).status == "retired"


# -- learner records ---------------------------------------------------------------------------

def test_submission_is_graded_recorded_and_audited(service, approved, demo_copilot):
    items = service.questions(approved, OPERATOR)
    answers = {i.item_id: (_right(i) if n % 5 else _wrong(i)) for n, i in enumerate(items)}
    expected_correct = sum(1 for n, _ in enumerate(items) if n % 5)
    result = service.submit(OPERATOR, approved, answers, {i.item_id: 12.0 for i in items})
    assert result.n_correct == expected_correct and result.n_items == len(items)
    assert result.score == pytest.approx(expected_correct / len(items))
    assert result.passed == (result.score >= 0.8) and result.pass_mark == 0.8
    assert result.revision == "5" and result.training_type == "quiz"

    stored = service.history(OPERATOR)
    assert [r.result_id for r in stored] == [result.result_id]
    assert len(stored[0].answers) == len(items)
    audit = demo_copilot.audit.records(action="quiz_submit", user="olga")[-1]
    assert audit.details["result_id"] == result.result_id
    assert audit.details["score"] == result.score
    assert len(audit.details["answers"]) == len(items)

    failed = service.submit(OPERATOR, approved, {i.item_id: _wrong(i) for i in items[:3]},
                            pass_mark=0.5)
    assert failed.passed is False and failed.n_correct == 0
    with pytest.raises(TrainingError, match="not an approved item"):
        service.submit(OPERATOR, approved, {"Q-000000000000": "A"})


def test_records_are_append_only(service, approved):
    item = service.questions(approved, OPERATOR)[0]
    service.submit(OPERATOR, approved, {item.item_id: item.key})
    with sqlite3.connect(service.store.path) as conn:
        for sql in ("UPDATE attempts SET correct=0", "DELETE FROM module_results",
                    "UPDATE item_status SET status='approved'", "DELETE FROM items"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                conn.execute(sql)
    assert service.history(OPERATOR)[0].n_correct == 1


def test_concurrent_submissions_all_land(service, approved):
    items = service.questions(approved, OPERATOR)
    errors = []

    def learner(n: int) -> None:
        try:
            for _ in range(3):
                service.submit(User(f"op{n}", "operator"), approved,
                               {i.item_id: i.key for i in items[:4]})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=learner, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(service.store.results()) == 12
    assert len(service.store.attempts()) == 48


# -- spaced repetition -------------------------------------------------------------------------

@pytest.mark.light
def test_answers_map_to_fsrs_ratings():
    assert rating_for(False, 2.0, "true_false") == Rating.Again
    assert rating_for(True, 2.0, "true_false") == Rating.Easy
    assert rating_for(True, 15.0, "true_false") == Rating.Good
    assert rating_for(True, 60.0, "true_false") == Rating.Hard
    assert rating_for(True, 15.0, "ordering") == Rating.Easy  # ordering gets more time
    assert rating_for(True, None, "numeric") == Rating.Good


def test_wrong_answers_come_back_today_and_easy_ones_later(service, approved):
    items = service.questions(approved, OPERATOR)
    wrong, easy = items[0], items[1]
    service.submit(OPERATOR, approved, {wrong.item_id: _wrong(wrong), easy.item_id: easy.key},
                   {wrong.item_id: 3.0, easy.item_id: 3.0})
    due_now = {i.item_id for i in service.review_queue(OPERATOR)}
    assert wrong.item_id in due_now and easy.item_id not in due_now
    easy_card = service.scheduler.card("olga", easy.item_id)
    wrong_card = service.scheduler.card("olga", wrong.item_id)
    assert easy_card.due > wrong_card.due + timedelta(days=1)
    later = datetime.now(UTC) + timedelta(days=60)
    assert easy.item_id in {i.item_id for i in service.review_queue(OPERATOR, later)}

    graded = service.submit_review(OPERATOR, wrong.item_id, wrong.key, 4.0,
                                   at=datetime.now(UTC) + timedelta(minutes=5))
    assert graded.correct
    assert service.scheduler.card("olga", wrong.item_id).due > wrong_card.due
    reviews = [a for a in service.store.attempts("olga") if a.training_type == "review"]
    assert [a.item_id for a in reviews] == [wrong.item_id]


# -- knowledge gaps ----------------------------------------------------------------------------

def test_gaps_rank_sections_from_questions_and_failed_items(service, approved, demo_copilot,
                                                            tmp_path):
    from guardrails import AuditTrail
    audit = AuditTrail(tmp_path / "audit.sqlite")
    gaps_service = TrainingService(demo_copilot.kb, audit, tmp_path / "gaps.sqlite")
    hits = [demo_copilot.kb.search("AC-02 alarm E-22 what now", k=1)[0],
            demo_copilot.kb.search("gowning garments for Grade B", k=1)[0]]
    assert (hits[0].doc_id, hits[0].section) != (hits[1].doc_id, hits[1].section)
    ref = [{"chunk_id": h.chunk_id, "doc_id": h.doc_id, "revision": h.revision} for h in hits]
    for _ in range(3):  # unanswered questions count double
        audit.append("olga", "operator", "ask", {"question": "AC-02 shows E-22, what now?",
                                                 "status": "declined", "citations": [],
                                                 "closest": ref[:1]})
    audit.append("olga", "operator", "ask", {"question": "How long is the P1 exposure?",
                                             "status": "grounded", "citations": ref[1:2],
                                             "closest": []})
    module = gaps_service.build_module("SOP-QA-010").module_id
    gaps_service.approve(module, TRAINER)
    failed = gaps_service.questions(module, OPERATOR)[0]
    gaps_service.submit(OPERATOR, module, {failed.item_id: _wrong(failed)})

    gaps = gaps_service.gaps(TRAINER)
    top = gaps[0]
    assert (top.doc_id, top.unanswered, top.questions) == (hits[0].doc_id, 3, 3)
    assert top.section == hits[0].section
    assert top.example_questions == ["AC-02 shows E-22, what now?"]
    failed_gap = next(g for g in gaps if g.doc_id == "SOP-QA-010")
    assert failed_gap.section == failed.section and failed_gap.failed_items == 1
    assert [g.score for g in gaps] == sorted((g.score for g in gaps), reverse=True)
