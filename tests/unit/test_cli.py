"""The admin's command-line tools, run as real processes."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow        # every test starts `python -m bot`, which loads all content


def run(*args: str, cwd=REPO, env=None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_flows_check_passes_on_the_shipped_content():
    result = run("flows", "check")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_flows_check_names_file_and_line_of_a_broken_edit(tmp_path):
    shutil.copytree(REPO, tmp_path / "repo", ignore=shutil.ignore_patterns(".venv", ".git", "instance", "test-artifacts"))
    flow = tmp_path / "repo" / "flows" / "health.yaml"
    flow.write_text(flow.read_text().replace("next: topics", "next: topcis", 1))
    import os
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "repo")}
    result = run("flows", "check", cwd=tmp_path / "repo", env=env)
    assert result.returncode == 1
    assert "flows/health.yaml:" in result.stdout and "'topcis'" in result.stdout


def test_chat_prints_what_the_bot_would_send_in_vietnamese():
    result = run("chat", "--locale", "vi", "--json", "menu", "tap:f:main_menu:menu:birth", "2026-11-10")
    assert result.returncode == 0, result.stderr[-3000:]
    transcript = json.loads(result.stdout)
    texts = [m.get("text", "") for turn in transcript for m in turn["messages"]]
    assert any("/11/2026" in t for t in texts)



def test_chat_at_a_moment_reproduces_the_issue_12_morning_without_faketime():
    """23:30 UTC on 5 December is 08:30 on the 6th in Japan: a baby born 'today' is born today."""
    for moment in ("2026-12-05T23:30+00:00", "2026-12-06 00:30"):          # UTC given; Japan time by default
        result = run("chat", "--at", moment, "--locale", "en", "tap:f:main_menu:menu:birth", "2026-12-06")
        assert result.returncode == 0, result.stderr[-3000:]
        assert "in the future" not in result.stdout and "by Mon 21 December 2026. 15 days left." in result.stdout
    late = run("chat", "--at", "2026-12-05 23:30", "--locale", "en", "tap:f:main_menu:menu:birth", "2026-12-06")
    assert "in the future" in late.stdout                                   # the 6th is still tomorrow in Japan
    assert run("chat", "--at", "tonight", "hello").returncode == 2

def test_chat_rejects_an_unknown_locale():
    result = run("chat", "--locale", "xx", "hello")
    assert result.returncode == 2 and "must be one of" in result.stderr


def test_users_create_reads_the_password_from_stdin(tmp_path):
    import os
    env = {**os.environ, "LINE_CHANNEL_SECRET": "x", "LINE_CHANNEL_ACCESS_TOKEN": "x",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    ok = run("users", "create", "--email", "new@npo.example", "--role", "admin", env=env, stdin="a long enough password\n")
    assert ok.returncode == 0 and "created admin" in ok.stdout
    again = run("users", "create", "--email", "new@npo.example", env=env, stdin="a long enough password\n")
    assert again.returncode == 1 and "exists already" in again.stderr
    short = run("users", "create", "--email", "b@npo.example", env=env, stdin="short\n")
    assert short.returncode == 1 and "10 characters" in short.stderr
    named = run("users", "create", "--email", "aiko@npo.example", "--name", "田中", "--latin-name", "Aiko Tanaka",
                env=env, stdin="a long enough password\n")
    assert named.returncode == 0
    kanji = run("users", "create", "--email", "k@npo.example", "--latin-name", "田中", env=env, stdin="a long enough password\n")
    assert kanji.returncode == 1 and "Latin letters" in kanji.stderr
    from sqlalchemy import create_engine, text
    with create_engine(env["DATABASE_URL"]).connect() as connection:
        row = connection.execute(text("SELECT display_name, display_name_latin FROM advisors WHERE email = 'aiko@npo.example'")).one()
    assert tuple(row) == ("田中", "Aiko Tanaka")


def test_missing_setting_is_named_clearly():
    import os
    env = {k: v for k, v in os.environ.items() if not k.startswith("LINE_")}
    result = run("worker", "--burst", env=env)
    assert result.returncode == 2 and "LINE_CHANNEL_SECRET is not set" in result.stderr


def test_richmenu_build_draws_one_png_per_chosen_locale_within_lines_limits(tmp_path):
    from PIL import Image
    result = run("richmenu", "build", "--out", str(tmp_path), "--locale", "si", "--locale", "zh-Hant")
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["si.png", "zh-Hant.png"]
    for path in tmp_path.iterdir():
        with Image.open(path) as image:
            assert (image.format, image.size) == ("PNG", (2500, 1686))
        assert path.stat().st_size <= 1024 * 1024
    assert "chat bar: මෙනුව" in result.stdout


def test_each_command_is_mapped_to_the_module_that_registers_it():
    """`python -m bot X` imports only X's module (bot/cli.py): the map must name every command of
    every module, and only those, or a command would be parsed by the wrong parser."""
    import argparse
    import importlib

    from bot.cli import COMMAND_MODULE_OF, COMMAND_MODULES
    registered = {}
    for module in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        registered.update(dict.fromkeys(sub.choices, module))
    assert registered == COMMAND_MODULE_OF


def test_a_command_parses_alone_and_help_still_lists_every_command():
    result = run("--help")
    assert result.returncode == 0
    for command in ("worker", "chat", "eval-faq", "richmenu", "classifier", "dead-letter"):
        assert command in result.stdout
    unknown = run("wroker")
    assert unknown.returncode == 2 and "invalid choice: 'wroker'" in unknown.stderr
    assert run("worker", "--help").returncode == 0
