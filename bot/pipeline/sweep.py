"""The sweep: every SWEEP_INTERVAL_S, pick up what an outage left behind.

- every user with waiting events whose list nobody is draining becomes ready again, and drainers
  whose job or process is gone are dropped, so new ones are queued (an event must not wait for
  the user's next message);
- pending answers older than SWEEP_MIN_AGE_S that no drain will send (advisors' replies,
  chats with nothing waiting) are pushed with their retry keys, so LINE keeps them once.

One worker of the fleet sweeps at a time (a Redis lock that lapses before the next tick).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.pipeline.delivery import DeliveryPendingError

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)
SWEEP_LOCK_KEY = "bot:sweep-lock"


@dataclass(frozen=True)
class SweepResult:
    drains_queued: int              # drainer jobs queued
    messages_sent: int
    users_made_ready: int = 0


class Sweeper:
    def __init__(self, services: Services):
        self._services = services
        self._settings = services.settings

    def sweep_once(self) -> SweepResult:
        inbox, delivery = self._services.inbox, self._services.delivery
        made_ready, queued = inbox.requeue_idle()
        try:
            sent = delivery.deliver_stale(self._settings.sweep_min_age_s, set(inbox.waiting_partitions()))
        except DeliveryPendingError as exc:
            log.warning("sweep: LINE still unavailable (%s); next try in %.0f s", exc, self._settings.sweep_interval_s)
            sent = 0
        if made_ready or queued or sent:
            log.info("sweep: %d chats made ready, %d drainers queued, %d pending messages sent",
                     made_ready, queued, sent)
        return SweepResult(queued, sent, made_ready)

    def run(self, stop: threading.Event) -> None:
        """The sweep thread of a long-running worker; ends when `stop` is set."""
        interval = self._settings.sweep_interval_s
        while not stop.wait(interval):
            try:
                if self._take_turn(interval):
                    self.sweep_once()
            except Exception as exc:  # noqa: BLE001 - an outage now is retried at the next tick
                log.warning("sweep skipped: %s", type(exc).__name__)

    def _take_turn(self, interval: float) -> bool:
        return bool(self._services.redis.set(SWEEP_LOCK_KEY, "1", nx=True, px=max(500, int(interval * 800))))

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="bot-sweep", daemon=True)
        thread.start()
        return thread
