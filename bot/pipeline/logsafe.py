"""Application logs never contain a LINE user id, a name or message text.

Our own log lines carry no message text or names by design (they log event types, counts and
error classes). As a second line of defence, every log record passes through a scrubber that
replaces LINE ids (U/C/R + 32 hex digits) with a short keyed hash, so lines about the same user
can still be correlated without revealing who it is.
"""
from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable

_LINE_ID = re.compile(r"\b[UCR][0-9a-f]{32}\b")
_installed: dict[str, Callable[..., logging.LogRecord] | None] = {"factory": None}


def pseudonym(line_id: str) -> str:
    return "user#" + hashlib.sha256(("bot-log:" + line_id).encode()).hexdigest()[:10]


def scrub(text: str) -> str:
    return _LINE_ID.sub(lambda m: pseudonym(m.group()), text)


def install_log_scrubbing() -> None:
    """Idempotent: wraps the log record factory once per process."""
    if _installed["factory"] is not None:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        if record.args:
            try:
                record.msg, record.args = scrub(record.msg % record.args), ()
            except (TypeError, ValueError):
                record.msg = scrub(str(record.msg))
        else:
            record.msg = scrub(str(record.msg))
        return record

    logging.setLogRecordFactory(factory)
    _installed["factory"] = factory
