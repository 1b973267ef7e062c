"""Settings read from environment variables and validated once, at start."""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from bot import LOCALES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
LINE_API_DEFAULT = "https://api.line.me"
LINE_API_DATA_DEFAULT = "https://api-data.line.me"     # LINE's host for uploads and downloads (rich menu images)


class SettingsError(Exception):
    """A variable is missing or wrong; the message names it and says how to fix it."""


@dataclass(frozen=True)
class Settings:
    line_channel_secret: str
    line_channel_access_token: str
    line_api_host: str = LINE_API_DEFAULT
    line_api_data_host: str = LINE_API_DATA_DEFAULT
    redis_url: str = "redis://127.0.0.1:6379/0"
    database_url: str = ""
    instance_path: Path = PROJECT_ROOT / "instance"
    flows_dir: Path = PROJECT_ROOT / "flows"
    locales_dir: Path = PROJECT_ROOT / "locales"
    resources_dir: Path = PROJECT_ROOT / "resources"
    dev_mode: bool = False
    default_locale: str = "en"
    municipality: str | None = None
    time_zone: str = "Asia/Tokyo"        # "today", deadlines and inbox times; storage stays UTC
    conversation_idle_minutes: int = 60 * 24
    message_retention_days: int = 365
    reply_token_max_age_s: float = 50.0
    line_timeout_s: float = 10.0
    line_max_attempts: int = 5
    line_backoff_base_s: float = 0.5
    loading_indicator_after_s: float = 1.0
    translate_backend: str = "none"
    google_project: str = ""
    google_location: str = "global"
    translate_api_endpoint: str = ""
    translate_glossary: str = ""
    translation_cache_days: int = 30
    # Short on purpose: a hanging Translation API must not hold a worker (inbox jobs, search pivot)
    # or an advisor's reply preview, which runs in a web request, for long.
    translate_timeout_s: float = 5.0
    translate_preview_timeout_s: float = 3.0
    # The translation safety net waits at most this long (an emergency answer never waits at all).
    translate_pivot_timeout_s: float = 2.0
    classifier_path: Path = PROJECT_ROOT / "training" / "classifier.bin"
    secret_key: str = field(default="", repr=False)
    inbox_idle_minutes: int = 120            # an inbox session ends after this long without a request
    trusted_proxy_hops: int = 0              # X-Forwarded-For entries added by our own proxies (see docs/deploy.md)
    public_base_url: str = "http://127.0.0.1:8000"
    advisor_icon_url: str = ""
    notify_webhook_url: str = ""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_starttls: bool = False
    notify_email_from: str = ""
    notify_email_to: tuple[str, ...] = ()
    # Outages and events set aside (docs/operations: "When a dependency is down").
    dead_letter_after_attempts: int = 5
    dead_letter_attempt_spacing_s: float = 30.0
    dead_letter_days: int = 14
    sweep_interval_s: float = 20.0
    sweep_min_age_s: float = 60.0
    line_outage_memory_s: float = 30.0
    worker_redis_wait_s: float = 900.0
    # How long RQ's command thread waits per poll; a worker's stop waits for the poll in progress.
    # Tests run thousands of short burst workers and set it lower.
    worker_command_poll_s: float = 1.0
    # A drainer with nobody ready waits this long for the next user before its job ends (see
    # bot/pipeline/drainers.py). Tests, which drain after each message, set 0.
    drainer_linger_s: float = 1.0
    redis_persistence_check: str = "warn"       # warn | refuse | off
    port: int | None = None                     # PORT: the worker serves /healthz there (App Engine, Cloud Run)

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.instance_path / 'bot.sqlite3'}")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def _require(env: Mapping[str, str], name: str, hint: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set: {hint}")
    return value


def _url(env: Mapping[str, str], name: str, default: str, schemes: tuple[str, ...]) -> str:
    value = env.get(name, "").strip() or default
    if not value.startswith(schemes):
        raise SettingsError(f"{name}={value!r} is not valid: it must start with one of {', '.join(schemes)}")
    return value.rstrip("/")


def _https_url(env: Mapping[str, str], name: str) -> str:
    """An optional URL LINE fetches itself (icons): LINE refuses anything but https, so every message would fail."""
    value = env.get(name, "").strip()
    if value and (not value.startswith("https://") or len(value) > 2000):
        raise SettingsError(f"{name}={value!r} is not valid: LINE only accepts https:// URLs of up to 2000 characters")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None


def _time_zone(env: Mapping[str, str]) -> str:
    from zoneinfo import ZoneInfo
    name = env.get("TIME_ZONE", "").strip() or "Asia/Tokyo"
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        raise SettingsError(f"TIME_ZONE={name!r} is not a known time zone; use an IANA name such as Asia/Tokyo "
                            "(the tzdata package provides them where the system has none)") from None
    return name


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number") from None


def _outage_settings(env: Mapping[str, str]) -> dict:
    check = env.get("REDIS_PERSISTENCE_CHECK", "warn").strip().lower() or "warn"
    if check not in {"warn", "refuse", "off"}:
        raise SettingsError(f"REDIS_PERSISTENCE_CHECK={check!r} must be 'warn', 'refuse' or 'off'")
    values = dict(
        dead_letter_after_attempts=max(1, _int(env, "DEAD_LETTER_AFTER_ATTEMPTS", 5)),
        dead_letter_attempt_spacing_s=_float(env, "DEAD_LETTER_ATTEMPT_SPACING_S", 30.0),
        dead_letter_days=max(1, _int(env, "DEAD_LETTER_DAYS", 14)),
        sweep_interval_s=max(1.0, _float(env, "SWEEP_INTERVAL_S", 20.0)),
        sweep_min_age_s=_float(env, "SWEEP_MIN_AGE_S", 60.0),
        worker_redis_wait_s=_float(env, "WORKER_REDIS_WAIT_S", 900.0),
        redis_persistence_check=check,
    )
    if env.get("PORT", "").strip():
        values["port"] = _int(env, "PORT", 8080)
    return values


def _data_host_default(env: Mapping[str, str]) -> str:
    api_host = env.get("LINE_API_HOST", "").strip()
    return api_host if api_host and api_host.rstrip("/") != LINE_API_DEFAULT else LINE_API_DATA_DEFAULT


def load_settings(env: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Build Settings from `env` (default: os.environ); `overrides` win (tests, `python -m bot dev`)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = dict(
        line_channel_secret=_require(env, "LINE_CHANNEL_SECRET",
                                     "copy the channel secret from the LINE Developers console (Basic settings)."),
        line_channel_access_token=_require(env, "LINE_CHANNEL_ACCESS_TOKEN",
                                           "issue a long-lived channel access token in the LINE Developers console "
                                           "(Messaging API tab)."),
        line_api_host=_url(env, "LINE_API_HOST", LINE_API_DEFAULT, ("http://", "https://")),
        # A fake LINE server (tests, dev) serves both hosts, so the data host follows LINE_API_HOST.
        line_api_data_host=_url(env, "LINE_API_DATA_HOST", _data_host_default(env), ("http://", "https://")),
        redis_url=_url(env, "REDIS_URL", "redis://127.0.0.1:6379/0", ("redis://", "rediss://", "unix://")),
        dev_mode=_flag(env, "BOT_DEV_MODE"),
        conversation_idle_minutes=_int(env, "CONVERSATION_IDLE_MINUTES", 60 * 24),
        message_retention_days=_int(env, "MESSAGE_RETENTION_DAYS", 365),
        translate_backend=env.get("TRANSLATE_BACKEND", "none").strip() or "none",
        google_project=env.get("GOOGLE_CLOUD_PROJECT", "").strip(),
        google_location=env.get("GOOGLE_TRANSLATE_LOCATION", "global").strip() or "global",
        translate_api_endpoint=env.get("TRANSLATE_API_ENDPOINT", "").strip(),
        translate_glossary=env.get("GOOGLE_TRANSLATE_GLOSSARY", "").strip(),
        translation_cache_days=_int(env, "TRANSLATION_CACHE_DAYS", 30),
        translate_timeout_s=_int(env, "TRANSLATE_TIMEOUT_S", 5),
        translate_pivot_timeout_s=float(env.get("TRANSLATE_PIVOT_TIMEOUT_S", "2") or 2),
        secret_key=env.get("SECRET_KEY", "").strip(),
        inbox_idle_minutes=_int(env, "INBOX_IDLE_MINUTES", 120),
        trusted_proxy_hops=_int(env, "TRUSTED_PROXY_HOPS", 0),
        public_base_url=_url(env, "PUBLIC_BASE_URL", "http://127.0.0.1:8000", ("http://", "https://")),
        advisor_icon_url=_https_url(env, "ADVISOR_ICON_URL"),
        notify_webhook_url=env.get("NOTIFY_WEBHOOK_URL", "").strip(),
        smtp_host=env.get("SMTP_HOST", "").strip(),
        smtp_port=_int(env, "SMTP_PORT", 25),
        smtp_username=env.get("SMTP_USERNAME", "").strip(),
        smtp_password=env.get("SMTP_PASSWORD", ""),
        smtp_starttls=_flag(env, "SMTP_STARTTLS"),
        notify_email_from=env.get("NOTIFY_EMAIL_FROM", "").strip(),
        notify_email_to=tuple(a.strip() for a in env.get("NOTIFY_EMAIL_TO", "").split(",") if a.strip()),
    )
    if values["smtp_host"] and not (values["notify_email_from"] and values["notify_email_to"]):
        raise SettingsError("SMTP_HOST is set, so NOTIFY_EMAIL_FROM and NOTIFY_EMAIL_TO (comma-separated) "
                            "are needed too")
    values.update(_outage_settings(env))
    if env.get("CLASSIFIER_MODEL"):
        values["classifier_path"] = Path(env["CLASSIFIER_MODEL"])
    if env.get("INSTANCE_PATH"):
        values["instance_path"] = Path(env["INSTANCE_PATH"])
    if env.get("DATABASE_URL"):
        values["database_url"] = _url(env, "DATABASE_URL", "", ("sqlite:", "postgresql:", "postgresql+psycopg2:"))
    if env.get("MUNICIPALITY"):
        values["municipality"] = env["MUNICIPALITY"].strip()
    values["time_zone"] = _time_zone(env)
    default_locale = env.get("DEFAULT_LOCALE", "en").strip() or "en"
    if default_locale not in LOCALES:
        raise SettingsError(f"DEFAULT_LOCALE={default_locale!r} is not one of: {', '.join(LOCALES)}")
    values["default_locale"] = default_locale
    if values["translate_backend"] not in {"none", "google"}:
        raise SettingsError(f"TRANSLATE_BACKEND={values['translate_backend']!r} must be 'none' or 'google'")
    if values["translate_backend"] == "google" and not values["google_project"]:
        raise SettingsError("TRANSLATE_BACKEND=google needs GOOGLE_CLOUD_PROJECT "
                            "(the Cloud project id that has the Translation API enabled)")
    known = {f.name for f in fields(Settings)}
    values.update({k: v for k, v in overrides.items() if k in known})
    return Settings(**values)
