"""Hot reload of the resource index (issue 12, item 9): an edit reparses, rechecks and re-extracts
only what it touched, and what then serves is exactly what a fresh load of the same files gives;
a broken edit keeps the previous content."""
from __future__ import annotations

import os
import re
from array import array
from pathlib import Path

import pytest

from bot.content.cache import ContentCache
from bot.content.registry import ContentRegistry, load_content
from bot.resources.loader import forget_previous_loads
from tests.conftest import REPO

QUESTIONS = [("保育園に入りたい", "ja"), ("con tôi bị sốt cao", "vi"), ("pregnancy notification Ikebukuro", "en"),
             ("extra word zebra", "en"), ("Thông báo mang thai", "vi"), ("母子手帳", "ja")]


@pytest.fixture()
def dirs(content_copy) -> tuple[Path, Path, Path]:
    """The module's copy of the content (tests/support/content_copy.py): its first load by a
    test reuses what the previous test's loads parsed, as a hot reload would; each test's
    `fresh` load, the reference, still starts from nothing."""
    return content_copy


def registry_for(dirs) -> ContentRegistry:
    return ContentRegistry(*dirs, background=False, check_interval_s=0, cache=ContentCache(None))


_STAMP = [10**9]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    _STAMP[0] += 1
    os.utime(path, ns=(_STAMP[0], _STAMP[0]))            # a new stamp whatever the clock's resolution


def state(value, seen: frozenset[int] = frozenset()):
    """A comparable picture of everything reachable from `value` (objects by their fields)."""
    if isinstance(value, (str, bytes, int, float, bool, type(None))):
        return value
    if id(value) in seen:
        return ("cycle", type(value).__name__)
    seen = seen | {id(value)}
    if isinstance(value, re.Pattern):
        return ("re", value.pattern, value.flags)
    if isinstance(value, (array, memoryview)) or type(value).__module__ == "numpy":
        return (type(value).__name__, bytes(memoryview(value).cast("B")) if not hasattr(value, "tobytes")
                else value.tobytes())
    if isinstance(value, dict):
        return ("dict", [(state(k, seen), state(v, seen)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [state(v, seen) for v in value])
    if isinstance(value, (set, frozenset)):
        return (type(value).__name__, sorted(repr(state(v, seen)) for v in value))
    if callable(value) and not hasattr(value, "__dict__") or type(value).__name__ in ("function", "method"):
        return ("callable", getattr(value, "__qualname__", repr(value)))
    fields = value.__getstate__() if hasattr(type(value), "__getstate__") and \
        type(value).__getstate__ is not object.__getstate__ else None
    if not isinstance(fields, dict):
        fields = dict(getattr(value, "__dict__", {}))
        for name in getattr(type(value), "__slots__", ()):
            if hasattr(value, name):
                fields[name] = getattr(value, name)
    fields.pop("version", None)                      # when it was loaded
    fields.pop("_place_factor_arrays", None)         # filled by queries
    return (type(value).__qualname__, [(k, state(v, seen)) for k, v in sorted(fields.items())])


def fresh(dirs):
    forget_previous_loads()                          # nothing reused: a load from scratch
    return load_content(*dirs)


def answers(content) -> list:
    return [content.index.search(text, locale) for text, locale in QUESTIONS]


EDITS = {
    # a keyword of one entry: its search features change
    "entry keyword": ("resources/entries/toshima-ku.yaml", "  keywords:\n  - 豊島区\n",
                      "  keywords:\n  - extra word zebra\n  - 豊島区\n"),
    # one title of one locale
    "text title": ("resources/text/vi.yaml", "    title: Thông báo mang thai", "    title: Thông báo có thai"),
    # a phone number: nothing searched changes
    "phone number": ("resources/entries/toshima-ku.yaml", "    phone: 03-3987-4173", "    phone: 03-3987-4174"),
}


@pytest.mark.parametrize("name", list(EDITS))
def test_an_index_edit_serves_exactly_what_a_fresh_load_gives(dirs, name):
    relative, old, new = EDITS[name]
    registry = registry_for(dirs)
    before = registry.current()
    edit(dirs[0].parent / relative, old, new)
    after = registry.current()
    assert after is not before and registry.loaded_from == "yaml" and not registry.last_problems
    assert after.catalog is before.catalog                       # locales did not change: reused
    if name == "phone number":
        assert after.index.engine.postings is before.index.engine.postings    # nothing searched changed
        assert any(c.phone == "03-3987-4174" for e in after.index.entries.values() for c in e.contacts)
    else:
        assert after.index.engine.postings is not before.index.engine.postings
        assert answers(after) != answers(before)
    expected = fresh(dirs)
    assert answers(after) == answers(expected)
    assert state(after) == state(expected) != state(before)


def test_several_edits_in_a_row_still_match_a_fresh_load(dirs):
    registry = registry_for(dirs)
    registry.current()
    for relative, old, new in EDITS.values():
        edit(dirs[0].parent / relative, old, new)
        registry.current()
    edit(dirs[2] / "text" / "vi.yaml", "    title: Thông báo có thai", "    title: Thông báo mang thai")
    after = registry.current()
    assert state(after) == state(fresh(dirs))


@pytest.mark.parametrize("broken", [("  scope: municipal\n", "  scope: municipl\n"),         # schema
                                    ("entries:\n- id:", "entries:\n- [id:")])                # YAML
def test_a_broken_index_edit_keeps_the_old_content_then_a_fix_matches_a_fresh_load(dirs, broken):
    path = dirs[2] / "entries" / "toshima-ku.yaml"
    original = path.read_text(encoding="utf-8")
    registry = registry_for(dirs)
    before = registry.current()
    edit(path, *broken)
    assert registry.current() is before
    assert registry.last_problems and any("toshima-ku.yaml:" in problem for problem in registry.last_problems)
    # the same broken text again (touched, not fixed) is still refused, from what was checked before
    edit(path, broken[1], broken[1])
    assert registry.current() is before and registry.last_problems
    path.write_text(original.replace("    phone: 03-3987-4173", "    phone: 03-3987-4175"), encoding="utf-8")
    os.utime(path, ns=(1, 1))
    after = registry.current()
    assert after is not before and not registry.last_problems
    assert state(after) == state(fresh(dirs))


def test_a_fresh_load_after_reuse_equals_the_first_load(dirs):
    first = fresh(dirs)
    load_content(*dirs)                                  # reuses every file and entry
    again = load_content(*dirs)
    assert state(again) == state(first)


def test_the_search_build_from_per_entry_features_equals_the_streaming_build():
    """Small indexes are built from per-entry features (kept for the next reload), city-scale ones
    in one streaming pass: both give the same postings, feature ids included."""
    from bot.resources import search
    from bot.resources.loader import read_index
    index, problems, _ = read_index(REPO / "resources")
    assert not problems
    search.forget_previous_builds()
    engine = search.SearchEngine.build(index)
    postings, locale_bits, phrases = search._streamed(index, list(index.entries))
    assert state(engine.postings) == state(postings)
    assert (engine.locale_bits, engine.phrases) == (locale_bits, phrases)
