"""LINE's monthly message quota: the limit 429 is final (no retry), admins hear once, the inbox and
dashboard show it; the quota is read through the real SDK from the fake LINE server."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.adapters.notify import WebhookNotifier
from bot.pipeline.delivery import MONTHLY_LIMIT_ERROR
from bot.pipeline.quota import QuotaStatus
from bot.store.models import Case, Message, User
from bot.store.users import record_outbound
from tests.support.fake_servers import FakeWebhookServer
from tests.support.inbox import csrf, login, open_case


def _advisor_push(services, line_user_id: str, text: str) -> int:
    with services.sessions.begin() as session:
        user = session.scalar(select(User).where(User.line_user_id == line_user_id))
        rows = record_outbound(session, user.id, [{"type": "text", "text": text}], event_id=None,
                               sender="advisor", key_seed=f"test-{text}")
        session.flush()
        return rows[0].id


def _pushes(fake_line, status: int) -> list[dict]:
    return [c for c in fake_line.state.calls if c["endpoint"] == "push" and c["status"] == status]


def test_eleventh_push_over_a_quota_of_ten_is_stored_not_retried_and_alerts_once(
        bot, services, fake_line, client, advisor):  # noqa: F811
    hook = FakeWebhookServer()
    services.notifiers = [WebhookNotifier(hook.url)]
    open_case(bot)                                   # the bot answers by reply: free, not counted
    fake_line.set_quota(10)
    ids = [_advisor_push(services, "Uvi-mom", f"push {n}") for n in range(1, 13)]
    results = [services.delivery.deliver_messages([message_id]) for message_id in ids]

    assert [r.status for r in results] == ["sent"] * 10 + ["monthly_limit"] * 2
    assert len(_pushes(fake_line, 200)) == 10
    assert len(_pushes(fake_line, 429)) == 2         # one call each for the 11th and 12th: no backoff retries
    with services.sessions() as session:
        eleventh = session.get(Message, ids[10])
        assert (eleventh.delivery_status, eleventh.delivery_error) == ("failed", MONTHLY_LIMIT_ERROR)
        case_id = session.scalar(select(Case.id))

    bot.work()                                       # the task queue sends the admin alert
    alerts = [r for r in hook.received if r.get("kind") == "admin-alert"]
    assert len(alerts) == 1 and "monthly message limit" in alerts[0]["subject"]
    assert services.quota.status().used == 10

    login(client)
    page = client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert MONTHLY_LIMIT_ERROR in page and "月の送信上限" in page
    login(client, "admin@npo.example")
    dashboard = client.get("/inbox/admin/dashboard").get_data(as_text=True)
    assert '<strong class="quota-used">10 / 10</strong>' in dashboard
    assert "今月の LINE 送信数" in dashboard and "通を使用" in dashboard and "forecast" not in dashboard   # Japanese


def test_an_answer_sent_from_the_inbox_over_the_limit_is_kept_and_its_job_not_retried(
        bot, services, fake_line, client, advisor):  # noqa: F811
    from rq import Queue
    from rq.job import Job
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry
    open_case(bot)
    fake_line.set_quota(10, used=10)                 # the month's pushes are spent
    with services.sessions() as session:
        case_id = session.scalar(select(Case.id))
    login(client)
    token = csrf(client.get(f"/inbox/cases/{case_id}").data)
    client.post(f"/inbox/cases/{case_id}/send", data={"final_text": "Vui lòng gọi cho chúng tôi.",
                                                      "source_ja": "", "csrf_token": token})
    bot.work()                                       # the delivery job, then the admin alert job
    bot.work()                                       # nothing left to retry
    assert len(_pushes(fake_line, 429)) == 1 and _pushes(fake_line, 200) == []
    with services.sessions() as session:
        answer = session.scalar(select(Message).where(Message.sender == "advisor"))
        assert (answer.delivery_status, answer.delivery_error) == ("failed", MONTHLY_LIMIT_ERROR)
    queue = Queue("bot-tasks", connection=services.redis)
    waiting = [Job.fetch(j, connection=services.redis).func_name for j in ScheduledJobRegistry(queue=queue).get_job_ids()]
    assert "bot.jobs.deliver_messages" not in waiting and FailedJobRegistry(queue=queue).count == 0   # no RQ retry
    page = client.get(f"/inbox/cases/{case_id}").get_data(as_text=True)
    assert "monthly-limit-note" in page and "50秒以内に返信すると無料で届きます" in page    # what to do


def test_a_rate_limit_429_is_still_retried_with_backoff(bot, services, fake_line):
    bot.follow("Urate", language="en")
    message_id = _advisor_push(services, "Urate", "hello")
    fake_line.fail_next({"status": 429, "message": "Too Many Requests", "endpoint": "push"})
    result = services.delivery.deliver_messages([message_id])
    assert result.status == "sent"
    assert [c["status"] for c in fake_line.state.calls if c["endpoint"] == "push"] == [429, 200]


def test_admins_are_warned_at_80_and_95_percent_once_each(services, fake_line):
    sent: list[str] = []
    monitor = type(services.quota)(services.redis, services.quota._reader, alert=lambda s, b: sent.append(s))
    fake_line.set_quota(100, used=79)
    monitor.refresh()
    assert sent == []
    fake_line.set_quota(100, used=80)
    monitor.refresh()
    monitor.refresh()
    assert len(sent) == 1 and "80%" in sent[0]
    fake_line.set_quota(100, used=96)
    monitor.refresh()
    monitor.refresh()
    assert len(sent) == 2 and "96%" in sent[1]


def test_quota_is_cached_for_an_hour(services, fake_line):
    fake_line.set_quota(200, used=5)
    assert services.quota.status().used == 5
    fake_line.set_quota(200, used=6)
    assert services.quota.status().used == 5         # read less than an hour ago: the cached figure
    assert services.quota.refresh().used == 6        # the hourly job reads again


def test_month_end_forecast_in_japan_time():
    # 15 Jan 00:00 JST: 14 of 31 days gone, 140 used → about 310 at month end.
    now = datetime(2026, 1, 14, 15, 0, tzinfo=UTC)
    assert QuotaStatus(limit=200, used=140, read_at=now).forecast(now) == 310
    assert QuotaStatus(limit=None, used=0, read_at=now).forecast(now) == 0


def _advisor_answer_endpoint(bot, services, fake_line, user_id: str, *, bot_answered: bool, age_s: float = 0) -> str:
    from datetime import timedelta

    from bot.pipeline.delivery import Delivery
    open_case(bot, user_id)
    bot.say(user_id, "dạ")                          # the first message in a case is acknowledged (issue 12)...
    assert bot.say(user_id, "vâng ạ") == []         # ...the next one within 10 minutes: the case takes it silently
    if bot_answered:
        bot.say(user_id, "menu")                     # the bot answers: that token is spent
    message_id = _advisor_push(services, user_id, f"answer for {user_id}")
    later = lambda: datetime.now(UTC) + timedelta(seconds=age_s)  # noqa: E731
    delivery = Delivery(services.sessions, services.messenger, now=later)
    assert delivery.deliver_messages([message_id]).delivered
    return fake_line.messages_to(user_id)[-1]["endpoint"]


def test_advisor_answer_uses_the_users_unused_fresh_reply_token(bot, services, fake_line):
    assert _advisor_answer_endpoint(bot, services, fake_line, "Ufresh", bot_answered=False) == "reply"
    with services.sessions() as session:
        sent = session.scalar(select(Message).where(Message.sender == "advisor"))
        assert sent.delivery_status == "sent"


def test_advisor_answer_is_pushed_when_the_token_is_old_or_used(bot, services, fake_line):
    assert _advisor_answer_endpoint(bot, services, fake_line, "Uold", bot_answered=False, age_s=55) == "push"
    assert _advisor_answer_endpoint(bot, services, fake_line, "Uused", bot_answered=True) == "push"


def test_the_hourly_quota_job_keeps_its_next_run(bot, services, fake_line):
    # The job schedules its next run under its own id while it runs; RQ then writes the finished
    # run onto that same hash. With RQ's default result_ttl the hash expired 500 s later and the
    # scheduler dropped the next run: the quota was read once per worker start.
    from rq import Queue
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    from bot.pipeline.quota import QUOTA_JOB_ID
    queue = Queue("bot-tasks", connection=services.redis)
    registry = ScheduledJobRegistry(queue=queue)
    bot.work()                                          # a worker start schedules the first read
    for used in (7, 8):
        fake_line.set_quota(200, used=used)
        job = Job.fetch(QUOTA_JOB_ID, connection=services.redis)
        registry.remove(job)
        queue.enqueue_job(job)                          # its time has come
        bot.work()
        assert services.quota.status().used == used
        assert QUOTA_JOB_ID in registry and services.redis.ttl(f"rq:job:{QUOTA_JOB_ID}") == -1   # no expiry
        next_run = registry.get_scheduled_time(QUOTA_JOB_ID)
        assert 3500 < (next_run - datetime.now(UTC)).total_seconds() <= 3600
    bot.work()                                          # a worker restart leaves the next run where it is
    assert registry.get_scheduled_time(QUOTA_JOB_ID) == next_run
