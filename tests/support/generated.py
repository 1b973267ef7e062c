"""Generated cases and questions for dashboard tests and benchmarks (no real user data)."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot import LOCALES
from bot.cases.desk import PRIORITY_RANK, TOPICS
from bot.store.models import Case, Question, User


def generate_cases(sessions, count: int, seed: int = 7, now: datetime | None = None) -> None:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    with sessions.begin() as session:
        users = [User(line_user_id=f"Ugen{i:05d}", locale=rng.choice(LOCALES), locale_chosen=True, blocked=False,
                      consent=True) for i in range(max(1, count // 5))]
        session.add_all(users)
        session.flush()
        cases, questions = [], []
        for _ in range(count):
            created = now - timedelta(minutes=rng.randint(0, 80 * 24 * 60))
            priority = rng.choices(list(PRIORITY_RANK), weights=[1, 3, 10])[0]
            first = created + timedelta(minutes=rng.expovariate(1 / 40)) if rng.random() < 0.9 else None
            resolved = first + timedelta(minutes=rng.expovariate(1 / 600)) if first and rng.random() < 0.8 else None
            reason = rng.choices(["triage: emergency/child-medical", "triage: crisis/dv", "user asked for a person", "flow"],
                                 weights=[1, 2, 10, 10])[0]
            user = rng.choice(users)
            cases.append(Case(user_id=user.id, locale=user.locale, topic=rng.choice(TOPICS), priority=priority,
                              priority_rank=PRIORITY_RANK[priority], status="resolved" if resolved else "waiting",
                              reason=reason, created_at=created, first_response_at=first, resolved_at=resolved))
            questions.append(Question(user_id=user.id, text=rng.choice(["where is the city office", "hoikuen waiting list",
                                                                        "visa extension baby", None]),
                                      locale=user.locale, outcome=rng.choice(["answered", "suggested", "not_found", "not_helpful"]),
                                      entry_id=None, created_at=created))
        session.add_all(cases)
        session.add_all(questions)


def consenting_users(sessions, line_user_ids: list[str], locale: str = "en") -> None:
    """Users who have chosen a language and agreed to the privacy notice, so their texts are kept."""
    with sessions.begin() as session:
        session.add_all([User(line_user_id=uid, locale=locale, locale_chosen=True, blocked=False, consent=True)
                         for uid in line_user_ids])
