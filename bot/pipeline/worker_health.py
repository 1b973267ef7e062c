"""The worker's health endpoint on $PORT: App Engine flexible and Cloud Run check every service.

GET /healthz answers 200 while the worker's loop is alive (its last heartbeat is recent),
503 otherwise, with the state of Redis and the database in the body. A dependency being down
does not make the worker unhealthy: restarting it would not help, it waits for them.
"""
from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log = logging.getLogger(__name__)
STALE_AFTER_S = 120.0             # RQ heartbeats at least every 45 s; outage waits beat every few seconds


def health_report(services, beats) -> tuple[int, dict]:
    age = beats.age_s()
    alive = age < STALE_AFTER_S
    body = {"status": "ok" if alive else "stalled", "heartbeat_age_s": round(age, 1),
            "checks": {"worker": alive, "redis": _safe(services.redis_ok), "database": _safe(services.database_ok)},
            "waiting_for": services.watch.down()}
    return (200 if alive else 503), body


def _safe(probe) -> bool:
    try:
        return bool(probe())
    except Exception:  # noqa: BLE001 - a failing probe is a "no"
        return False


def start_health_server(services, beats, port: int, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.split("?")[0] not in {"/healthz", "/_ah/health", "/liveness_check", "/readiness_check"}:
                self.send_error(404)
                return
            status, body = health_report(services, beats)
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="bot-health", daemon=True).start()
    log.info("worker health endpoint on port %d (/healthz)", port)
    return server
