"""The composition root: the only place that builds clients and wires adapters to ports.

`create_app` (web) and `run_worker` (worker) call `build_services`; nothing else creates a
Redis, database or LINE client.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

import redis
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.adapters.clock import ZoneClock
from bot.adapters.dead_letters import RedisDeadLetters
from bot.adapters.line import LineMessenger
from bot.adapters.line_multicast import LineMulticaster
from bot.adapters.line_quota import LineQuotaReader
from bot.adapters.line_richmenu import LineRichMenus
from bot.adapters.notify import SmtpNotifier, WebhookNotifier
from bot.adapters.redis_queue import RedisPartitionInbox, RqEventQueue
from bot.adapters.tasks import RqTaskQueue
from bot.adapters.translate import CachedTranslator, CloudTranslator, NoneTranslator
from bot.cases.live import RedisLiveFeed
from bot.content.registry import Content, ContentRegistry
from bot.dialogue.classifier import load_classifier
from bot.dialogue.turn import TurnContext, TurnServices, UserState
from bot.domain import DomainExtras, make_domain_services
from bot.inbox.sessions import RedisInboxSessions
from bot.inbox.translations import InboundTranslations
from bot.pipeline.delivery import Delivery
from bot.pipeline.faults import DATABASE, REDIS, DependencyWatch
from bot.pipeline.loading import LoadingWatch
from bot.pipeline.processing import EventProcessor
from bot.pipeline.quota import QuotaMonitor
from bot.ports import Classifier, Clock, Notifier, Translator
from bot.reminders.schedule import schedule_source
from bot.richmenu.links import RichMenuLinks
from bot.settings import Settings
from bot.store.database import database_ok, make_engine, make_session_factory


@dataclass
class Services:
    settings: Settings
    redis: redis.Redis
    engine: Engine
    sessions: sessionmaker
    messenger: LineMessenger
    event_queue: RqEventQueue
    inbox: RedisPartitionInbox
    delivery: Delivery
    content: ContentRegistry
    tasks: RqTaskQueue
    inbox_sessions: RedisInboxSessions
    inbox_translations: InboundTranslations
    quota: QuotaMonitor
    translator: Translator | None = None
    clock: Clock = field(default_factory=ZoneClock)
    preview_translator: Translator | None = None   # the advisor's reply preview: in a web request, so a shorter timeout
    classifier: Classifier | None = None
    notifiers: list[Notifier] = field(default_factory=list)
    extras: DomainExtras = field(default_factory=lambda: DomainExtras())
    rich_menus: LineRichMenus | None = None
    rich_menu_links: RichMenuLinks | None = None
    multicaster: LineMulticaster | None = None     # announcements (bot/announce/)
    stop: threading.Event = field(default_factory=threading.Event)      # set on SIGTERM
    watch: DependencyWatch = field(init=False)      # built from this object's own probes
    loading_watch: LoadingWatch | None = None

    def __post_init__(self) -> None:
        self.watch = DependencyWatch({DATABASE: self.database_ok, REDIS: self.redis_ok}, self.stop)

    @property
    def dead_letters(self) -> RedisDeadLetters:
        return self.inbox.dead_letters

    def database_ok(self) -> bool:
        return database_ok(self.engine)

    def redis_ok(self) -> bool:
        return self.event_queue.ping()

    def make_context(self, event: dict, user: UserState | None, session: Session) -> TurnContext:
        content = self.content.current()
        return TurnContext(event=event, user=user, catalog=content.catalog, messenger=self.messenger,
                           default_locale=self.settings.default_locale, now=self.clock.now,
                           services=self.domain_services(session, content, user))

    def domain_services(self, session: Session, content: Content, user: UserState | None = None) -> TurnServices:
        return make_domain_services(self.settings, session, content, self.clock, extra=self.extras, user=user)

    def event_processor(self) -> EventProcessor:
        if self.loading_watch is None:        # one watching thread per process, not a timer per message
            self.loading_watch = LoadingWatch(lambda user_id: self.messenger.show_loading(user_id, 20),
                                              self.settings.loading_indicator_after_s)
        return EventProcessor(
            self.inbox, self.sessions, self.delivery, self.make_context,
            show_loading=lambda user_id: self.messenger.show_loading(user_id, 20),
            loading_watch=self.loading_watch,
            max_attempts=self.settings.dead_letter_after_attempts,
            on_locale_known=self.link_rich_menu,
        )

    def reminder_sweep(self):
        """The daily reminder sweep (bot/reminders/sweep.py) over this process's ports."""
        from bot.reminders.sweep import ReminderSweep
        return ReminderSweep(self.sessions, self.delivery, self.clock, self.extras["reminder_schedule"](),
                             self.content.current().catalog, default_locale=self.settings.default_locale,
                             quota=self.quota, municipality=self.settings.municipality)

    def link_rich_menu(self, line_user_id: str, locale: str | None) -> None:
        """After a follow or a language change: link her menu now (one call to LINE, after the turn
        was answered); if LINE fails, a task links it, retried like other sends. A task for every
        link cost the worker an RQ job per new parent, more CPU than her whole first turn."""
        from bot.adapters.line_richmenu import RichMenuApiError
        assert self.rich_menu_links is not None, "build_services sets it"
        try:
            self.rich_menu_links.link_unless_refused(line_user_id, locale)
        except RichMenuApiError:
            self.tasks.enqueue("bot.jobs.link_rich_menu", line_user_id, locale)


def build_services(settings: Settings, redis_client: redis.Redis | None = None,
                   content: ContentRegistry | None = None) -> Services:
    """`redis_client` and `content` may be handed in (tests share one loaded content set)."""
    connection = redis_client or redis.Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=2)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    messenger = LineMessenger(settings.line_api_host, settings.line_channel_access_token, settings.line_timeout_s)
    stop = threading.Event()
    tasks = RqTaskQueue(connection)
    quota = build_quota_monitor(settings, connection, tasks)
    delivery = Delivery(sessions, messenger, reply_token_max_age_s=settings.reply_token_max_age_s,
                        max_attempts=settings.line_max_attempts, backoff_base_s=settings.line_backoff_base_s,
                        stop=stop, outage_memory_s=settings.line_outage_memory_s,
                        on_monthly_limit=quota.monthly_limit_reached)
    translator = build_translator(settings, connection, settings.translate_timeout_s)
    # The safety net's own client: the same service with a short timeout, so a slow translator
    # delays a non-urgent answer by at most that much.
    pivot_translator = build_translator(settings, connection, timeout_s=settings.translate_pivot_timeout_s)
    classifier = load_classifier(settings.classifier_path)      # loaded once per process (~50 ms)
    services = Services(
        settings=settings, redis=connection, engine=engine, sessions=sessions, messenger=messenger,
        event_queue=RqEventQueue(connection), delivery=delivery, stop=stop,
        inbox=RedisPartitionInbox(connection, dead_letters=RedisDeadLetters(connection, settings.dead_letter_days),
                                  attempt_spacing_s=settings.dead_letter_attempt_spacing_s),
        content=content or ContentRegistry(settings.locales_dir, settings.flows_dir, settings.resources_dir),
        tasks=tasks, translator=translator, clock=ZoneClock(settings.time_zone),
        preview_translator=build_translator(settings, connection, settings.translate_preview_timeout_s),
        inbox_sessions=RedisInboxSessions(connection, settings.inbox_idle_minutes),
        inbox_translations=InboundTranslations(connection, tasks), quota=quota, classifier=classifier,
        notifiers=build_notifiers(settings),
        extras=DomainExtras(tasks=tasks, translator=translator, pivot_translator=pivot_translator,
                            classifier=classifier, live=RedisLiveFeed(connection),
                            reminder_schedule=schedule_source(settings.flows_dir)),
    )
    services.rich_menus = LineRichMenus(settings.line_api_host, settings.line_api_data_host,
                                        settings.line_channel_access_token, settings.line_timeout_s)
    services.multicaster = LineMulticaster(settings.line_api_host, settings.line_channel_access_token,
                                           settings.line_timeout_s)
    services.rich_menu_links = RichMenuLinks(connection, services.rich_menus, settings.default_locale,
                                             max_attempts=settings.line_max_attempts,
                                             backoff_base_s=settings.line_backoff_base_s)
    return services


def build_quota_monitor(settings: Settings, connection: redis.Redis, tasks: RqTaskQueue) -> QuotaMonitor:
    reader = LineQuotaReader(settings.line_api_host, settings.line_channel_access_token, settings.line_timeout_s)
    def alert(subject: str, body: str) -> None:
        tasks.enqueue("bot.jobs.alert_admins", subject, body)
    return QuotaMonitor(connection, reader, alert=alert)


def build_translator(settings: Settings, connection: redis.Redis, timeout_s: float = 10.0) -> Translator:
    if settings.translate_backend != "google":
        return NoneTranslator()
    credentials = None
    if settings.translate_api_endpoint.startswith("http://"):
        # A local fake endpoint (development, tests): Google credentials are neither needed nor sent.
        from google.auth.credentials import AnonymousCredentials
        credentials = AnonymousCredentials()
    cloud = CloudTranslator(settings.google_project, settings.google_location, settings.translate_api_endpoint,
                            settings.translate_glossary, credentials=credentials, timeout_s=timeout_s)
    return CachedTranslator(cloud, connection, ttl_s=settings.translation_cache_days * 24 * 3600)


def build_notifiers(settings: Settings) -> list[Notifier]:
    notifiers: list[Notifier] = []
    if settings.smtp_host:
        notifiers.append(SmtpNotifier(settings.smtp_host, settings.smtp_port, settings.notify_email_from,
                                      list(settings.notify_email_to), settings.smtp_username,
                                      settings.smtp_password, settings.smtp_starttls))
    if settings.notify_webhook_url:
        notifiers.append(WebhookNotifier(settings.notify_webhook_url))
    return notifiers
