"""Admin-edited content (locales, flows, triage rules, resource index), hot-reloaded safely.

Workers call `current()` for every event. When a file under the content folders changed, the
set is loaded and checked again (reusing the parts, files and index entries that did not change:
see `load_content`); if anything is wrong the errors are logged with
file:line and the previous, valid version keeps serving. A set that passed its checks is kept
compiled on disk (bot/content/cache.py), keyed by a hash of its files and the code: a new process,
or a reload back to a set seen before, takes it from there in a fraction of a second.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.content.adminmsg import msg
from bot.content.cache import ContentCache, content_digest
from bot.content.yamlfile import ProblemsError, load_yaml_with_lines

# The loaders are imported when content is loaded, not at import time: a process that finds its
# compiled content in the cache never needs them (fast start, issue 17).
if TYPE_CHECKING:
    from bot.cases.hours import DeskHours
    from bot.content.i18n import Catalog
    from bot.dialogue.triage import TriageRules
    from bot.flows.model import FlowSet
    from bot.resources.lines import PhoneLines
    from bot.resources.model import ResourceIndex

log = logging.getLogger(__name__)


class ContentError(ProblemsError):
    pass


# Parts of the content, each reloaded only when one of its files changed.
PARTS = ("locales", "flows", "triage", "resources")
# How often the watcher looks for edited files: with a flow or text reload taking a fraction of a
# second, an admin's good edit is live within about one second.
WATCH_INTERVAL_S = 0.5


@dataclass(frozen=True)
class Content:
    catalog: Catalog
    flows: FlowSet
    triage_rules: TriageRules
    index: ResourceIndex
    desk_hours: DeskHours
    municipalities: tuple[tuple[str, str], ...] = ()
    phone_lines: PhoneLines | None = None   # #7119 / #8000 per area
    version: float = 0.0


def load_content(locales_dir: Path, flows_dir: Path, resources_dir: Path, previous: Content | None = None,
                 changed: frozenset[str] = frozenset(PARTS)) -> Content:
    """Load everything or raise ContentError listing every problem found. With `previous`, the
    parts that did not change (the resource index, the triage rules, the catalog) are reused, so
    an edit of a flow or a text goes live in well under a second. An edit of the resource index
    reloads the index, but parses, checks and extracts search features again only for the files
    and entries whose text changed (bot/resources/loader.py, bot/resources/search.py)."""
    # Imported here: a process that finds its content in the cache never needs the loaders
    # (jsonschema, the flow and index builders).
    from bot.cases.hours import load_desk_hours
    from bot.content.i18n import Catalog
    from bot.dialogue.triage_rules import load_triage_rules
    from bot.resources.lines import load_phone_lines
    from bot.resources.loader import load_index
    problems: list[str] = []
    if previous is not None and "locales" not in changed:
        catalog = previous.catalog
    else:
        catalog = _collect(problems, lambda: Catalog.load(locales_dir))
    if previous is not None and "resources" not in changed:
        index = previous.index
    else:
        index = _collect(problems, lambda: load_index(resources_dir))
    if previous is not None and "triage" not in changed:
        triage_rules = previous.triage_rules
    else:
        triage_rules = _collect(problems, lambda: load_triage_rules(flows_dir / "triage"))
    desk_hours = _collect(problems, lambda: load_desk_hours(flows_dir / "desk" / "hours.yaml"))
    municipalities = _collect(problems, lambda: load_municipalities(resources_dir / "municipalities.yaml")) or ()
    phone_lines = _collect(problems, lambda: load_phone_lines(resources_dir / "phone_lines.yaml"))
    flows = None
    if catalog is not None:
        flows = _collect(problems, lambda: _load_flows(flows_dir, catalog, index))
    if problems or flows is None:
        raise ContentError(problems)
    return Content(catalog=catalog, flows=flows, triage_rules=triage_rules, index=index,
                   desk_hours=desk_hours, municipalities=municipalities, phone_lines=phone_lines,
                   version=time.time())


def _collect(problems: list[str], load):
    try:
        return load()
    except ProblemsError as exc:
        problems.extend(exc.problems)
    except Exception as exc:  # noqa: BLE001 - a loader's own error type carries .problems or a message
        problems.extend(getattr(exc, "problems", None) or [str(exc)])
    return None


def load_municipalities(path: Path) -> tuple:
    """(slug, label) pairs; labels are buttons, so at most 20 characters."""
    if not path.exists():
        return ()
    data, lines = load_yaml_with_lines(path)
    pairs, problems = [], []
    for i, item in enumerate((data or {}).get("municipalities") or []):
        slug, label = str(item.get("slug", "")), str(item.get("label", ""))
        if not slug or not label or len(label) > 20:
            problems.append(f"{path}:{lines.get(f'municipalities[{i}]', 1)}: "
                            "each municipality needs a slug and a label of at most 20 characters")
        pairs.append((slug, label))
    if problems:
        raise ContentError(problems)
    return tuple(pairs)


def _load_flows(flows_dir: Path, catalog: Catalog, index: ResourceIndex | None) -> FlowSet:
    from bot.flows.loader import load_flows
    return load_flows(flows_dir, catalog=catalog, index=index)


def _fingerprint(folders: tuple[Path, ...]) -> dict[str, tuple]:
    """The files of each part of the content with their modification times (and sizes)."""
    locales_dir, flows_dir, resources_dir = folders
    triage_dir = flows_dir / "triage"
    parts = {"locales": _stamps(locales_dir.rglob("*.yaml")),
             "flows": _stamps(p for p in flows_dir.rglob("*") if p.suffix in (".yaml", ".json")
                              and triage_dir not in p.parents),
             "triage": _stamps(triage_dir.rglob("*")),
             "resources": _stamps(p for p in resources_dir.rglob("*") if p.suffix in (".yaml", ".json"))}
    return parts


def _stamps(paths) -> tuple:
    found = []
    for path in sorted(paths):
        try:
            stat = path.stat()
        except OSError:
            continue                          # removed while we looked: the next look sees it gone
        if path.is_file():
            found.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(found)


def _changed(old: dict[str, tuple], new: dict[str, tuple]) -> frozenset[str]:
    return frozenset(part for part in PARTS if old.get(part) != new.get(part))


def _watch(registry_ref, interval_s: float) -> None:
    """Look for edits until the registry is gone (a weak reference: short-lived registries, as in
    `chat` or tests, do not keep a thread polling forever)."""
    while True:
        time.sleep(interval_s)
        registry = registry_ref()
        if registry is None:
            return
        if not registry._reloading:
            try:
                registry.look_for_edits()
            except Exception:  # noqa: BLE001 - the watcher must outlive a bad moment on the disk
                log.exception("content watcher: could not look for edits")
        del registry


class ContentRegistry:
    """The current content; a changed file is reloaded in the background while the old set serves."""

    def __init__(self, locales_dir: Path, flows_dir: Path, resources_dir: Path,
                 check_interval_s: float = WATCH_INTERVAL_S, background: bool = True,
                 cache: ContentCache | None = None):
        self._dirs = (locales_dir, flows_dir, resources_dir)
        self._cache = cache if cache is not None else ContentCache.from_env()
        self._digest: str | None = None
        self.loaded_from = ""                    # "cache" or "yaml": how the live set was loaded (logs, tests)
        self._interval = check_interval_s
        self._background = background
        self._lock = threading.Lock()
        self._content: Content | None = None
        self._stamp: dict[str, tuple] = {}
        self._checked_at = 0.0
        self._reloading = False
        self._watcher: threading.Thread | None = None
        self._changed = threading.Condition()
        self.last_problems: list[str] = []

    def current(self) -> Content:
        now = time.monotonic()
        if self._content is None:
            with self._lock:
                if self._content is None:
                    self._reload(_fingerprint(self._dirs))     # the first load is synchronous
            self._start_watching()
        elif now - self._checked_at >= self._interval and not self._reloading:
            self.look_for_edits()
        assert self._content is not None, "the first load either succeeds or raises ContentError"
        return self._content

    def look_for_edits(self) -> None:
        self._checked_at = time.monotonic()
        stamp = _fingerprint(self._dirs)
        if stamp != self._stamp:
            self._start_reload(stamp)

    def _start_watching(self) -> None:
        """A background thread looks for edits every `check_interval_s`, so a good edit goes live
        without waiting for a message to arrive first."""
        if not self._background or self._interval <= 0 or self._watcher is not None:
            return
        self._watcher = threading.Thread(target=_watch, args=(weakref.ref(self), self._interval),
                                         name="content-watch", daemon=True)
        self._watcher.start()

    def wait_for_change(self, version: float, timeout_s: float) -> Content:
        """Block until content newer than `version` is live (or the timeout): for tests and tools."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while (self._content is None or self._content.version <= version) and time.monotonic() < deadline:
                self._changed.wait(timeout=max(0.0, deadline - time.monotonic()))
        return self.current()

    def _start_reload(self, stamp: dict[str, tuple]) -> None:
        # Loading everything takes seconds; a turn must not wait for it, so workers go on with
        # the previous content until the new set is loaded and checked.
        with self._lock:
            if self._reloading:
                return
            self._reloading = True
        if not self._background:
            self._reload_guarded(stamp)
            return
        threading.Thread(target=self._reload_guarded, args=(stamp,), name="content-reload", daemon=True).start()

    def _reload_guarded(self, stamp: dict[str, tuple]) -> None:
        try:
            self._reload(stamp)
        finally:
            self._reloading = False

    def _reload(self, stamp: dict[str, tuple]) -> None:
        digest = content_digest(self._dirs)
        if self._content is not None and digest == self._digest:
            self._stamp = stamp                   # touched, not changed (a checkout, a copy)
            return
        try:
            content, fresh = self._compiled(digest, stamp)
        except ContentError as exc:
            self.last_problems = exc.problems
            self._stamp = stamp
            if self._content is None:
                raise
            log.error("%s\n%s", msg("content.rejected"), "\n".join(exc.problems))
            return
        if self._content is not None:
            log.info("content reloaded")
        with self._changed:
            self._content, self._stamp, self._digest, self.last_problems = content, stamp, digest, []
            self._changed.notify_all()
        if fresh:
            # Written once the new set serves: a good edit goes live without waiting for the pickle.
            self._cache.save(digest, content)

    def _compiled(self, digest: str, stamp: dict[str, tuple]) -> tuple[Content, bool]:
        """The cached compiled set for these files, else load and check them; True when loaded
        from YAML (the caller then caches it)."""
        cached = self._cache.load(digest)
        if isinstance(cached, Content):
            self.loaded_from = "cache"
            return dataclasses.replace(cached, version=time.time()), False
        content = load_content(*self._dirs, previous=self._content, changed=_changed(self._stamp, stamp)) \
            if self._content is not None else load_content(*self._dirs)
        self.loaded_from = "yaml"
        return content, True
