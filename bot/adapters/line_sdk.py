"""line-bot-sdk v3's HTTP client (ApiClient, Configuration, ApiException) without importing every model first.

`import linebot.v3.messaging.api_client` runs four package __init__s before it: `linebot` (the v2
API and requests), `linebot.v3` (the webhook parser: aiohttp and every webhook model),
`linebot.v3.messaging` (every API class and its ~200 models) and `linebot.v3.messaging.models`
(the models again). That was 4.5 of a worker's 8.6 s of imports (load 9), for a first answer
that needs only the client: replies and pushes are sent as stored JSON through
`ApiClient.call_api` (bot/adapters/line.py).

So those four packages are registered with their __init__ deferred. Their submodules import as
usual; the first lookup of any other name (`from linebot.v3.messaging import MessagingApi`, or
the client's `getattr(linebot.v3.messaging.models, ...)` when it parses an answer into a model)
runs the package's real __init__ in place, in the same module object. Every name the SDK exports
is still there, only loaded when first asked for. If the SDK was imported before (tests, the
fake LINE server), nothing changes.
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from types import ModuleType

DEFERRED_PACKAGES = ("linebot", "linebot.v3", "linebot.v3.messaging", "linebot.v3.messaging.models")
_init_lock = threading.RLock()     # two threads asking at once: one runs the __init__, the other waits


def defer_package_inits(names: tuple[str, ...] = DEFERRED_PACKAGES) -> None:
    for name in names:
        if name not in sys.modules:
            _register_deferred(name)


def _register_deferred(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return                          # not the package we know: leave it to the ordinary import
    package = importlib.util.module_from_spec(spec)
    finished = False

    def load_on_first_lookup(attribute: str):
        nonlocal finished
        if not finished and importlib.util.find_spec(f"{name}.{attribute}") is not None:
            return importlib.import_module(f"{name}.{attribute}")     # a submodule: no __init__ needed
        with _init_lock:
            if not finished:
                finished = True         # the __init__'s own lookups meanwhile see a module being imported
                _run_init(package, spec.loader)
        try:
            return package.__dict__[attribute]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None

    package.__getattr__ = load_on_first_lookup      # type: ignore[method-assign]  # PEP 562
    sys.modules[name] = package
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, package)


def _run_init(package: ModuleType, loader) -> None:
    lookup = package.__dict__["__getattr__"]
    try:
        loader.exec_module(package)
    finally:
        if package.__dict__.get("__getattr__") is lookup:
            del package.__dict__["__getattr__"]      # from now on an ordinary module


defer_package_inits()

from linebot.v3.messaging.api_client import ApiClient  # noqa: E402 - after the deferral above
from linebot.v3.messaging.configuration import Configuration  # noqa: E402
from linebot.v3.messaging.exceptions import ApiException  # noqa: E402
from linebot.v3.messaging.rest import RESTResponse  # noqa: E402

__all__ = ["ApiClient", "ApiException", "Configuration", "JsonBody", "RESTResponse", "api_client"]


class JsonBody(dict):
    """A request body that is LINE's JSON already (stored messages: only dicts, lists, strings,
    numbers, booleans and None). The SDK walks every body to turn models into dicts, which for
    such a body copies it unchanged, dict by dict (issue 17); `_Client` hands it on as it is."""


class _Client(ApiClient):
    def sanitize_for_serialization(self, obj):
        if type(obj) is JsonBody:
            return obj
        return super().sanitize_for_serialization(obj)


def api_client(host: str, access_token: str) -> ApiClient:
    """A client for one LINE host; urllib3 never resends on its own (our delivery policy retries,
    and a resent push or multicast must carry its retry key)."""
    configuration = Configuration(host=host, access_token=access_token)
    configuration.retries = False
    return _Client(configuration)
