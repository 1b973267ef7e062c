"""Admin-edited content (locales, flows, triage rules, resource index), hot-reloaded safely.

Workers call `current()` for every event. When a file under the content folders changed, the
whole set is loaded and checked again; if anything is wrong the errors are logged with
file:line and the previous, valid version keeps serving.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.adminmsg import msg
from bot.cases.hours import load_desk_hours
from bot.flows.loader import load_flows
from bot.i18n import Catalog
from bot.resources.loader import load_index
from bot.yamlfile import ProblemsError, load_yaml_with_lines
from bot.triage import load_triage_rules

log = logging.getLogger(__name__)


class ContentError(ProblemsError):
    pass


@dataclass(frozen=True)
class Content:
    catalog: Catalog
    flows: Any = None
    triage_rules: Any = None
    index: Any = None
    desk_hours: Any = None
    municipalities: tuple = ()
    version: float = 0.0


def load_content(locales_dir: Path, flows_dir: Path, resources_dir: Path) -> Content:
    """Load everything or raise ContentError listing every problem found."""
    problems: list[str] = []
    catalog = _collect(problems, lambda: Catalog.load(locales_dir))
    index = _collect(problems, lambda: load_index(resources_dir))
    triage_rules = _collect(problems, lambda: load_triage_rules(flows_dir / "triage"))
    desk_hours = _collect(problems, lambda: load_desk_hours(flows_dir / "desk" / "hours.yaml"))
    municipalities = _collect(problems, lambda: load_municipalities(resources_dir / "municipalities.yaml")) or ()
    flows = None
    if catalog is not None:
        flows = _collect(problems, lambda: _load_flows(flows_dir, catalog, index))
    if problems:
        raise ContentError(problems)
    return Content(catalog=catalog, flows=flows, triage_rules=triage_rules, index=index,
                   desk_hours=desk_hours, municipalities=municipalities, version=time.time())


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
            problems.append(f"{path}:{lines.get(f'municipalities[{i}]', 1)}: each municipality needs a slug and a label of at most 20 characters")
        pairs.append((slug, label))
    if problems:
        raise ContentError(problems)
    return tuple(pairs)


def _load_flows(flows_dir: Path, catalog: Catalog, index):
    return load_flows(flows_dir, catalog=catalog, index=index)


def _fingerprint(folders: tuple[Path, ...]) -> tuple:
    stamps = []
    for folder in folders:
        if folder.exists():
            stamps.extend((str(p), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*.yaml")))
    return tuple(stamps)


class ContentRegistry:
    """The current content; a changed file is reloaded in the background while the old set serves."""

    def __init__(self, locales_dir: Path, flows_dir: Path, resources_dir: Path, check_interval_s: float = 1.0,
                 background: bool = True):
        self._dirs = (locales_dir, flows_dir, resources_dir)
        self._interval = check_interval_s
        self._background = background
        self._lock = threading.Lock()
        self._content: Content | None = None
        self._stamp: tuple = ()
        self._checked_at = 0.0
        self._reloading = False
        self.last_problems: list[str] = []

    def current(self) -> Content:
        now = time.monotonic()
        if self._content is None:
            with self._lock:
                if self._content is None:
                    self._reload(_fingerprint(self._dirs))     # the first load is synchronous
        elif now - self._checked_at >= self._interval and not self._reloading:
            self._checked_at = now
            stamp = _fingerprint(self._dirs)
            if stamp != self._stamp:
                self._start_reload(stamp)
        return self._content

    def _start_reload(self, stamp: tuple) -> None:
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

    def _reload_guarded(self, stamp: tuple) -> None:
        try:
            self._reload(stamp)
        finally:
            self._reloading = False

    def _reload(self, stamp: tuple) -> None:
        try:
            content = load_content(*self._dirs)
        except ContentError as exc:
            self.last_problems = exc.problems
            self._stamp = stamp
            if self._content is None:
                raise
            log.error("%s\n%s", msg("content.rejected"), "\n".join(exc.problems))
            return
        if self._content is not None:
            log.info("content reloaded")
        self._content, self._stamp, self.last_problems = content, stamp, []
