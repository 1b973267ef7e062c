"""The sweep: waiting users get a drainer (one at a time), stale pending answers are pushed once."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rq import Queue
from sqlalchemy import select

from bot.store.models import Message, User
from tests.support.generated import consenting_users
from tests.support.line_events import text_event


def test_the_sweep_queues_a_drainer_for_waiting_users_once_until_it_ran(bot, services):
    from bot.pipeline.sweep import Sweeper
    for user in ("Usweep1", "Usweep2"):
        assert bot.post(text_event(user, "hello")).status_code == 200
    queue = Queue("line-events", connection=services.redis)
    queue.empty()                                       # the drainer's job was lost
    sweeper = Sweeper(services)
    assert sweeper.sweep_once().drains_queued == 1      # one drainer (no worker registered) for both
    assert sweeper.sweep_once().drains_queued == 0      # still queued: not again
    assert queue.count == 1
    bot.work()
    assert len(bot.line.messages_to("Usweep1")) == 1 and len(bot.line.messages_to("Usweep2")) == 1
    assert sweeper.sweep_once().drains_queued == 0      # nothing waits any more


def test_the_sweep_pushes_stale_pending_answers_once_with_their_retry_key(services, fake_line):
    from bot.pipeline.sweep import Sweeper
    from bot.store.users import record_outbound
    consenting_users(services.sessions, ["Ustale"])
    with services.sessions.begin() as session:
        user = session.scalar(select(User).where(User.line_user_id == "Ustale"))
        rows = record_outbound(session, user.id, [{"type": "text", "text": "an advisor's answer"}],
                               event_id=None, sender="advisor", key_seed="advisor-reply-1")
        for row in rows:
            row.created_at = datetime.now(UTC) - timedelta(minutes=5)
    sweeper = Sweeper(services)
    assert sweeper.sweep_once().messages_sent == 1
    assert sweeper.sweep_once().messages_sent == 0
    assert len(fake_line.messages_to("Ustale")) == 1
    with services.sessions() as session:
        assert session.scalar(select(Message.delivery_status).where(Message.direction == "out")) == "sent"


def test_a_fresh_pending_answer_is_left_to_its_own_job(services, fake_line):
    from bot.pipeline.sweep import Sweeper
    from bot.store.users import record_outbound
    consenting_users(services.sessions, ["Ufresh2"])
    with services.sessions.begin() as session:
        user = session.scalar(select(User).where(User.line_user_id == "Ufresh2"))
        record_outbound(session, user.id, [{"type": "text", "text": "x"}], event_id=None, key_seed="k")
    assert Sweeper(services).sweep_once().messages_sent == 0
    assert fake_line.messages_to("Ufresh2") == []
