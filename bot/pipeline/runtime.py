"""The services of the running worker, handed to RQ job functions.

RQ calls jobs by import path with plain arguments, so a job cannot be given objects. The
worker entry (the composition root) installs its Services here before it starts working;
jobs read them back. Nothing else sets it.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager

_services: contextvars.ContextVar = contextvars.ContextVar("bot_services")


@contextmanager
def using_services(services):
    token = _services.set(services)
    try:
        yield services
    finally:
        _services.reset(token)


def current_services():
    try:
        return _services.get()
    except LookupError:
        raise RuntimeError("no services installed: run jobs through `python -m bot worker`") from None
