"""The compiled content (flows, catalog, triage rules, resource index) cached on disk.

Loading the content from YAML takes seconds (schema checks, the search index, the triage
rules); a new worker or web instance, and `python -m bot chat`, load the compiled set from a
file instead. The file is named after a hash of everything the compiled set depends on: every
content file (path and bytes), the code that compiles it and the Python version. So an edit of a
single byte, or a deploy of new code, misses the cache and loads from YAML again, where a broken
file gives its `file:line` errors as always; a cache file is written only after a load passed
every check.

Compiled regular expressions (the triage rules have a few hundred, 200,000 characters in all)
would be compiled again when unpickled, which alone takes about half a second; they are stored
with their compiled program instead and rebuilt with `_sre.compile`, CPython's own last step of
`re.compile` (the digest includes the Python version; anything unexpected falls back to
`re.compile`, which gives the same pattern, only slower).

Pickle is fine for data this process wrote itself, but never for a file someone else could have
put there: the folder must belong to us and be writable by no one else, each file starts with
the hash it was written for and a SHA-256 of its body, and anything that does not match is
ignored (and loaded from YAML instead).

BOT_CONTENT_CACHE_DIR chooses the folder (default: $XDG_CACHE_HOME or ~/.cache /
line-consult-bot, else a private folder in /tmp); BOT_CONTENT_CACHE_DIR=off turns it off.
"""
from __future__ import annotations

import gc
import hashlib
import io
import logging
import os
import pickle
import re
import stat
import sys
import tempfile
from array import array
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "BOT_CONTENT_CACHE_DIR"
FORMAT = b"lcb-content-1"          # change when the file layout changes
KEEP_FILES = 4                     # older compiled sets are deleted when a new one is written
# The whole bot package: the compiled set is made of classes from bot/resources, bot/flows,
# bot/dialogue... (not only bot/content), and a change to any of them must not load an old pickle.
CODE_DIR = Path(__file__).resolve().parents[1]
CONTENT_SUFFIXES = (".yaml", ".yml", ".json")


def content_digest(folders: tuple[Path, ...]) -> str:
    """SHA-256 over the content files (and where they are), the bot's code and the Python version."""
    digest = hashlib.sha256(FORMAT + sys.version.encode() + str(_sre_magic()).encode())
    for label, files in (("code", _files(CODE_DIR, (".py", ".yaml", ".json"))),
                         # the folders' absolute paths too: compiled texts carry "file:line" for messages
                         *((str(Path(folder).resolve()), _files(folder, CONTENT_SUFFIXES)) for folder in folders)):
        for path, relative in files:
            try:
                data = path.read_bytes()
            except OSError:
                data = b"\0unreadable"           # loading from YAML will say what is wrong with it
            digest.update(f"\0{label}/{relative}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def _files(folder: Path, suffixes: tuple[str, ...]) -> list[tuple[Path, str]]:
    folder = Path(folder)
    found = [(path, path.relative_to(folder).as_posix()) for path in folder.rglob("*")
             if path.suffix in suffixes and "__pycache__" not in path.parts and path.is_file()]
    return sorted(found, key=lambda item: item[1])


class ContentCache:
    """Compiled content sets in one private folder, one file per digest."""

    def __init__(self, folder: Path | None):
        self.folder = folder

    @classmethod
    def from_env(cls, env=os.environ) -> ContentCache:
        chosen = env.get(ENV, "").strip()
        if chosen.lower() in ("off", "0", "no", "false"):
            return cls(None)
        if chosen:
            return cls(Path(chosen))
        home = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        for folder in (Path(home) / "line-consult-bot",
                       Path(tempfile.gettempdir()) / f"line-consult-bot-{os.getuid()}"):
            if _usable(folder):
                return cls(folder)
        return cls(None)

    @property
    def enabled(self) -> bool:
        return self.folder is not None

    def path_for(self, digest: str) -> Path:
        assert self.folder is not None, "only called when the cache is enabled"
        return self.folder / f"content-{digest}.pickle"

    def load(self, digest: str):
        """The compiled set written for `digest`, or None (missing, not ours, damaged, other code)."""
        if self.folder is None or not _private(self.folder):
            return None
        try:
            with open(self.path_for(digest), "rb") as file:
                header = file.readline().rstrip(b"\n").split(b" ")
                body = file.read()
        except OSError:
            return None
        if header != [FORMAT, digest.encode(), hashlib.sha256(body).hexdigest().encode()]:
            log.warning("content cache: %s does not match its content; loading from YAML", self.path_for(digest))
            return None
        try:
            return _loads(body)
        except Exception:  # noqa: BLE001 - a file from other code: load from YAML, as without a cache
            log.warning("content cache: %s could not be read; loading from YAML", self.path_for(digest))
            return None

    def save(self, digest: str, content) -> None:
        """Write atomically (a reader never sees half a file), then drop older sets."""
        if self.folder is None or not _usable(self.folder):
            return
        try:
            body = _dumps(content)
        except Exception:  # noqa: BLE001 - something in the set cannot be pickled: run without a cache
            log.exception("content cache: the compiled content cannot be saved")
            return
        header = b" ".join((FORMAT, digest.encode(), hashlib.sha256(body).hexdigest().encode())) + b"\n"
        try:
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".content-", suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                file.write(header)
                file.write(body)
            os.replace(temporary, self.path_for(digest))
        except OSError as exc:
            log.warning("content cache: could not write %s (%s)", self.folder, exc)
            return
        self._prune(keep=self.path_for(digest))

    def _prune(self, keep: Path) -> None:
        if self.folder is None:
            return
        files = sorted(self.folder.glob("content-*.pickle"), key=_modified, reverse=True)
        for old in [path for path in files if path != keep][KEEP_FILES - 1:]:
            try:
                old.unlink()
            except OSError:
                pass                              # another process removed it first


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _usable(folder: Path) -> bool:
    """Create the folder (mode 700) if needed; usable only when it is private to this user."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return False
    return _private(folder) and os.access(folder, os.W_OK)


def _private(folder: Path) -> bool:
    """Ours and writable by no one else: nobody can slip a file in for us to unpickle."""
    try:
        info = os.stat(folder, follow_symlinks=False)
    except OSError:
        return False
    return (stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
            and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH))


def _loads(body: bytes):
    # Hundreds of thousands of new objects would set off the cyclic garbage collector again and
    # again while unpickling (3x slower); none of them is garbage yet.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(body)
    finally:
        if enabled:
            gc.enable()


# ---- compiled regular expressions -----------------------------------------------------------

def _dumps(content) -> bytes:
    buffer = io.BytesIO()
    _ProgramPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(content)
    return buffer.getvalue()


class _ProgramPickler(pickle.Pickler):
    def reducer_override(self, obj):
        if isinstance(obj, re.Pattern):
            program = _program(obj)
            if program is not None:
                return _rebuilt_pattern, program
        return NotImplemented


def _program(pattern: re.Pattern) -> tuple | None:
    """What `re.compile` hands to `_sre.compile` for this pattern, checked to rebuild an equal
    pattern (equal patterns have the same source, flags and program); None if it does not.
    Remembered per (source, flags): a hot reload saves the same triage patterns again."""
    key = (type(pattern.pattern), pattern.pattern, pattern.flags)
    if key in _PROGRAMS:
        return _PROGRAMS[key]
    program = _program_of(pattern)
    if len(_PROGRAMS) >= _PROGRAMS_KEPT:
        _PROGRAMS.clear()
    _PROGRAMS[key] = program
    return program


_PROGRAMS: dict[tuple, tuple | None] = {}
_PROGRAMS_KEPT = 4096


def _program_of(pattern: re.Pattern) -> tuple | None:
    try:
        import _sre  # type: ignore[import-not-found]  # CPython's regex engine, no stubs
        from re import _compiler, _parser  # type: ignore[attr-defined]  # private, pinned by the cache key
        parsed = _parser.parse(pattern.pattern, pattern.flags)
        code = _compiler._code(parsed, pattern.flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup = [None] * parsed.state.groups
        for name, number in groupindex.items():
            indexgroup[number] = name
        program = (pattern.pattern, pattern.flags | parsed.state.flags, array("I", code).tobytes(),
                   parsed.state.groups - 1, groupindex, tuple(indexgroup))
        if _sre.CODESIZE != 4 or _rebuilt_pattern(*program) != pattern:
            return None
        return program
    except Exception:  # noqa: BLE001 - another Python's internals: pickle the plain pattern
        return None


def _rebuilt_pattern(source, flags, code: bytes, groups, groupindex, indexgroup) -> re.Pattern:
    try:
        import _sre
        return _sre.compile(source, flags, array("I", code).tolist(), groups, groupindex, indexgroup)
    except Exception:  # noqa: BLE001 - never worse than compiling it again
        return re.compile(source, flags)


def _sre_magic() -> int:
    try:
        from re import _constants  # type: ignore[attr-defined]
        return _constants.MAGIC
    except Exception:  # noqa: BLE001
        return 0
