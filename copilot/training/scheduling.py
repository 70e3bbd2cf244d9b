"""Spaced repetition with FSRS (`fsrs` package): one card per learner and item.

An answer becomes an FSRS rating: wrong -> Again; right but slow -> Hard; right -> Good;
right and quick -> Easy. "Quick" and "slow" scale with the item type, because ordering six
steps takes longer than a true/false.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from fsrs import Card, Rating, Scheduler

from .store import TrainingStore

# Seconds for a confident and for a hesitant answer to a true/false item.
QUICK_SECONDS = 8.0
SLOW_SECONDS = 30.0
_TYPE_SCALE = {"true_false": 1.0, "numeric": 1.5, "multiple_choice": 1.5, "scenario": 2.5,
               "ordering": 3.0}


def rating_for(correct: bool, response_seconds: float | None, item_type: str) -> Rating:
    if not correct:
        return Rating.Again
    if response_seconds is None:
        return Rating.Good
    scale = _TYPE_SCALE.get(item_type, 1.5)
    if response_seconds <= QUICK_SECONDS * scale:
        return Rating.Easy
    if response_seconds >= SLOW_SECONDS * scale:
        return Rating.Hard
    return Rating.Good


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class ReviewScheduler:
    def __init__(self, store: TrainingStore, scheduler: Scheduler | None = None) -> None:
        self.store = store
        # No fuzzing: the same answers give the same schedule, which a record must be able to show.
        self.scheduler = scheduler or Scheduler(enable_fuzzing=False)

    def card(self, user: str, item_id: str) -> Card | None:
        stored = self.store.card(user, item_id)
        return Card.from_json(stored) if stored else None

    def review(self, user: str, item_id: str, item_type: str, correct: bool,
               response_seconds: float | None, at: datetime | None = None) -> Card:
        at = at or datetime.now(UTC)
        card = self.card(user, item_id) or Card()
        duration = int(response_seconds * 1000) if response_seconds is not None else None
        card, _log = self.scheduler.review_card(card, rating_for(correct, response_seconds,
                                                                 item_type), at, duration)
        self.store.put_card(user, item_id, card.to_json(), _iso(card.due))
        return card

    def due_today(self, user: str, now: datetime | None = None) -> list[str]:
        """Item ids whose card falls due before the end of `now`'s day (UTC)."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        end_of_day = datetime.combine(now.date() + timedelta(days=1), time.min, UTC)
        return self.store.due_cards(user, _iso(end_of_day - timedelta(microseconds=1)))
