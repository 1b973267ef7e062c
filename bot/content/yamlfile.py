"""Loading admin-edited YAML with line numbers, so every error can say `file:line: ...`."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.content.adminmsg import msg


class YamlFileError(Exception):
    pass


# libyaml's parser when PyYAML was built with it (about ten times faster on the resource index).
_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextDatesLoader(_BaseLoader):
    """Safe loading that leaves dates as text: a wrong date (2026-13-01) becomes a checked value
    with a line number instead of a crash inside the YAML parser."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml_with_lines(path: Path) -> tuple[Any, dict[str, int]]:
    """Parse YAML; also return the line of every mapping key as a dotted path (`a.b.c` → line)."""
    return load_yaml_text(read_text(path), path)


def load_yaml_text(text: str, path: Path) -> tuple[Any, dict[str, int]]:
    """`load_yaml_with_lines` of a file's text already read (errors name `path`)."""
    try:
        loader = _TextDatesLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise YamlFileError(msg("yaml.structure", path=path, line=line, problem=problem)) from None
    lines: dict[str, int] = {}
    if node is not None:
        _collect(node, "", lines)
    return data, lines


def _collect(node, prefix: str, lines: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            lines[path] = key_node.start_mark.line + 1
            _collect(value_node, path, lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            path = f"{prefix}[{index}]"
            lines[path] = item.start_mark.line + 1
            _collect(item, path, lines)


def read_text(path: Path) -> str:
    """A content file's text, or YamlFileError saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise YamlFileError(msg("yaml.not_utf8", path=path, reason=exc.reason)) from None
    except OSError as exc:
        raise YamlFileError(msg("yaml.cannot_read", path=path, reason=exc.strerror)) from None


class ProblemsError(Exception):
    """Several things are wrong in admin-edited files; each problem reads `file:line: what to fix`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems
