"""A copy of the shipped content (locales, flows, resources) for tests that edit it.

Loading a copy costs about 2 s of CPU the first time (its triage rules and resource files are
compiled and checked again: both are remembered by path), and well under a second once the
same path was loaded with most files unchanged, as a hot reload does. So a test module shares
one copy per process (`content_copy`), and each test gets it back as shipped: every file it
changed is rewritten, every file it added is removed, every file it removed comes back.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CONTENT_FOLDERS = ("locales", "flows", "resources")


def copy_content(root: Path) -> tuple[Path, Path, Path]:
    """A fresh copy under `root`: (locales, flows, resources)."""
    for name in CONTENT_FOLDERS:
        shutil.copytree(REPO / name, root / name)
    return root / "locales", root / "flows", root / "resources"


def restore_content(root: Path) -> None:
    """Put the copy under `root` back as shipped (only what differs is written)."""
    for name in CONTENT_FOLDERS:
        shipped, copy = REPO / name, root / name
        expected = {path.relative_to(shipped) for path in shipped.rglob("*") if path.is_file()}
        for path in sorted(copy.rglob("*"), reverse=True):          # files before their folders
            relative = path.relative_to(copy)
            if path.is_dir():
                if not (shipped / relative).is_dir():
                    path.rmdir()
            elif relative not in expected:
                path.unlink()
        for relative in expected:
            source, target = shipped / relative, copy / relative
            data = source.read_bytes()
            if not target.is_file() or target.read_bytes() != data:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)


@pytest.fixture(scope="module")
def _module_content_copy(tmp_path_factory) -> tuple[Path, Path, Path]:
    return copy_content(tmp_path_factory.mktemp("content"))


@pytest.fixture
def content_copy(_module_content_copy) -> tuple[Path, Path, Path]:
    """(locales, flows, resources) of this module's copy, as shipped; put back after the test."""
    yield _module_content_copy
    restore_content(_module_content_copy[0].parent)          # also after a failed test
