"""The compiled content cache (bot/content/cache.py): a second start takes the compiled set from
disk; an edit, a broken file, a damaged or foreign cache file never serve stale content."""
from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from bot.content.cache import ContentCache, content_digest
from bot.content.registry import ContentError, ContentRegistry
from bot.dialogue.triage import triage
from tests.conftest import REPO

QUESTIONS = [("my baby is not breathing", "en"), ("保育園に入りたい", "ja"), ("con tôi bị sốt cao", "vi"),
             ("no bleeding, just a question about the health check", "en")]


@pytest.fixture(scope="module")
def content_dirs(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("content")
    for name in ("locales", "flows", "resources"):
        shutil.copytree(REPO / name, root / name)
    return root / "locales", root / "flows", root / "resources"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cache") / "compiled"
    folder.mkdir(mode=0o700)
    return folder


@pytest.fixture(scope="module")
def first(content_dirs, cache_dir):
    registry = ContentRegistry(*content_dirs, background=False, cache=ContentCache(cache_dir))
    return registry, registry.current()


def registry_for(dirs, cache_dir) -> ContentRegistry:
    return ContentRegistry(*dirs, background=False, check_interval_s=0, cache=ContentCache(cache_dir))


def answers(content) -> list:
    return [(triage(text, content.triage_rules), content.index.search(text, locale).candidates)
            for text, locale in QUESTIONS]


def test_a_second_start_takes_the_compiled_set_from_the_cache(first, content_dirs, cache_dir):
    registry, content = first
    assert registry.loaded_from == "yaml"
    assert ContentCache(cache_dir).path_for(content_digest(content_dirs)).exists()
    again = registry_for(content_dirs, cache_dir)
    cached = again.current()
    assert again.loaded_from == "cache"
    assert answers(cached) == answers(content)
    assert answers(content)[0][0].level == "emergency"
    assert cached.catalog.text("vi", "menu.prompt") == content.catalog.text("vi", "menu.prompt")


def test_regular_expressions_come_back_equal_without_compiling(first, cache_dir, content_dirs):
    _, content = first
    cached = ContentCache(cache_dir).load(content_digest(content_dirs))
    for signal_id, signal in content.triage_rules.signals.items():
        again = cached.triage_rules.signals[signal_id]
        # equal patterns have the same source, flags and compiled program
        assert (again.plain, again.accented, again.patterns) == (signal.plain, signal.accented, signal.patterns)


def test_a_broken_edit_misses_the_cache_and_names_the_file_and_line(first, content_copy, cache_dir):
    dirs = list(content_copy)                                # a second copy, in another folder
    registry_for(dirs, cache_dir).current()                  # this copy is cached too
    en = dirs[0] / "en.yaml"
    en.write_text(en.read_text(encoding="utf-8") + "\n  broken: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError) as error:
        registry_for(dirs, cache_dir).current()
    assert any(f"{en}:" in problem or "en.yaml:" in problem for problem in error.value.problems)
    assert not ContentCache(cache_dir).path_for(content_digest(tuple(dirs))).exists()


def test_hot_reload_goes_back_to_a_set_seen_before_from_the_cache(content_copy, cache_dir):
    dirs = list(content_copy)
    registry = registry_for(dirs, cache_dir)
    before = registry.current().catalog.text("en", "menu.prompt")
    en = dirs[0] / "en.yaml"
    original = en.read_text(encoding="utf-8")
    en.write_text(original.replace("  prompt: What do you need help with?", "  prompt: How can we help?"),
                  encoding="utf-8")
    os.utime(en, ns=(1, 1))                                  # a different stamp whatever the clock's resolution
    assert registry.current().catalog.text("en", "menu.prompt").startswith("How can we help?")
    assert registry.loaded_from == "yaml"
    en.write_text(original, encoding="utf-8")
    os.utime(en, ns=(2, 2))
    assert registry.current().catalog.text("en", "menu.prompt") == before
    assert registry.loaded_from == "cache"


def test_a_damaged_cache_file_is_never_unpickled(first, content_dirs, cache_dir, tmp_path):
    folder = tmp_path / "damaged"
    shutil.copytree(cache_dir, folder)
    path = ContentCache(folder).path_for(content_digest(content_dirs))
    header, body = path.read_bytes().split(b"\n", 1)
    path.write_bytes(header + b"\n" + pickle.dumps({"not": "content"}))
    assert ContentCache(folder).load(content_digest(content_dirs)) is None
    registry = registry_for(content_dirs, folder)
    assert registry.current().triage_rules is not None and registry.loaded_from == "yaml"


def test_a_cache_file_written_for_other_content_is_not_used(first, content_dirs, cache_dir, tmp_path):
    folder = tmp_path / "renamed"
    shutil.copytree(cache_dir, folder)
    digest = content_digest(content_dirs)
    other = "0" * len(digest)
    shutil.copy(ContentCache(folder).path_for(digest), ContentCache(folder).path_for(other))
    assert ContentCache(folder).load(other) is None          # its header names the content it was written for


def test_a_folder_others_can_write_to_is_not_used(first, content_dirs, cache_dir, tmp_path):
    folder = tmp_path / "shared"
    shutil.copytree(cache_dir, folder)
    folder.chmod(0o777)
    cache = ContentCache(folder)
    assert cache.load(content_digest(content_dirs)) is None
    registry = registry_for(content_dirs, folder)
    registry.current()
    assert registry.loaded_from == "yaml"


def test_the_cache_can_be_turned_off_and_placed_by_environment(tmp_path):
    assert not ContentCache.from_env({"BOT_CONTENT_CACHE_DIR": "off"}).enabled
    assert ContentCache.from_env({"BOT_CONTENT_CACHE_DIR": str(tmp_path / "c")}).folder == tmp_path / "c"
    assert ContentCache.from_env({"XDG_CACHE_HOME": str(tmp_path)}).folder == tmp_path / "line-consult-bot"


def test_the_digest_covers_the_code_of_everything_in_a_compiled_set():
    """A compiled set pickles classes from bot/resources, bot/flows and bot/dialogue: a change to any of
    them must miss the cache (the digest once covered bot/content/ alone, so a new ResourceIndex field
    came back missing from an old pickle)."""
    import inspect

    from bot.content import cache
    from bot.dialogue import triage_rules
    from bot.flows import engine
    from bot.resources import model, search
    covered = {path for path, _ in cache._files(cache.CODE_DIR, (".py",))}
    for module in (model, search, engine, triage_rules, cache):
        assert Path(inspect.getfile(module)).resolve() in covered, module.__name__
