"""Canned replies for advisors, from flows/desk/canned_replies.yaml (admin-edited)."""
from __future__ import annotations

from pathlib import Path

from bot.content.yamlfile import YamlFileError, load_yaml_with_lines


def load_canned_replies(flows_dir: Path) -> list[dict]:
    path = flows_dir / "desk" / "canned_replies.yaml"
    if not path.exists():
        return []
    try:
        data, _ = load_yaml_with_lines(path)
    except YamlFileError:
        return []                          # `flows check` reports it; the inbox keeps working
    replies = (data or {}).get("replies") or []
    return [r for r in replies if isinstance(r, dict) and {"id", "title", "text"} <= set(r)
            and r.setdefault("topic", "any")]
