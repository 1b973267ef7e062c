"""Is Redis keeping what the webhook acknowledged? Checked when the web and the worker start.

Events live in Redis between the webhook's 200 and the worker's commit: without persistence
a Redis restart loses them. `CONFIG GET appendonly` tells; managed Redis (Memorystore)
often disables CONFIG, so there the check says it cannot tell and points at the console.
REDIS_PERSISTENCE_CHECK: `refuse` (do not start without AOF), `warn` (log loudly), `off`.
"""
from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)


class RedisPersistenceError(RuntimeError):
    """Redis does not persist events and REDIS_PERSISTENCE_CHECK=refuse."""


def redis_appendonly(connection: redis.Redis) -> bool | None:
    """True/False from CONFIG GET appendonly; None when Redis does not say (CONFIG disabled, down)."""
    try:
        reply = connection.config_get("appendonly")
    except redis.ResponseError:
        return None                          # e.g. Memorystore: CONFIG is not allowed
    except redis.RedisError:
        return None
    value = reply.get("appendonly") if isinstance(reply, dict) else None
    if value is None:
        return None
    value = value.decode() if isinstance(value, bytes) else str(value)
    return value.strip().lower() == "yes"


def check_redis_persistence(connection: redis.Redis, mode: str, who: str) -> bool | None:
    """Apply REDIS_PERSISTENCE_CHECK; returns what Redis said (see redis_appendonly)."""
    if mode == "off":
        return None
    appendonly = redis_appendonly(connection)
    if appendonly is True:
        return True
    if appendonly is None:
        log.warning("%s: cannot read Redis's appendonly setting (managed Redis without CONFIG, or Redis down). "
                    "Make sure persistence is on (Memorystore: enable AOF or RDB persistence), or acknowledged "
                    "LINE events are lost when Redis restarts.", who)
        return None
    message = (f"{who}: Redis runs WITHOUT append-only persistence (appendonly no): every LINE event acknowledged "
               "but not yet handled is LOST if Redis restarts. Turn it on (`appendonly yes`, Memorystore persistence) "
               "(REDIS_PERSISTENCE_CHECK=refuse stops the bot from starting without it).")
    if mode == "refuse":
        raise RedisPersistenceError(message.replace("REDIS_PERSISTENCE_CHECK=refuse stops the bot from starting "
                                                    "without it",
                                                    "or set REDIS_PERSISTENCE_CHECK=warn to start anyway"))
    log.error("!!! %s", message)
    return False
