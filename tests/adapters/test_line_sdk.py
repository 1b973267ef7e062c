"""line-bot-sdk imported without its package __init__s (bot/adapters/line_sdk.py), in a fresh process.

The test process itself has imported the whole SDK already (the fake LINE server uses it), which
turns the deferral off; so each check runs in a new interpreter, as a worker starts.
"""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from tests.conftest import REPO

USER = "U" + "1" * 32


def run_fresh(script: str) -> dict:
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=REPO, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_sends_go_through_the_sdk_client_before_any_model_is_imported(fake_line):
    fake_line.register_reply_token("TOKEN", USER)
    fake_line.fail_next({"endpoint": "push", "status": 500})
    seen = run_fresh(f"""
        import json, sys
        from bot.adapters.line import LineMessenger
        messenger = LineMessenger({fake_line.url!r}, "token")
        text = [{{"type": "text", "text": "Hello"}}]
        results = [messenger.reply("TOKEN", text), messenger.push({USER!r}, text, "5b0c1a2e-0000-4000-8000-000000000001"),
                   messenger.push({USER!r}, text, "5b0c1a2e-0000-4000-8000-000000000002")]
        messenger.show_loading({USER!r}, 7)
        messenger.mark_as_read("read-token")
        heavy = sorted(m for m in sys.modules if m.startswith("linebot.v3.messaging.models.")
                       or m in ("linebot.api", "linebot.v3.webhook", "linebot.v3.messaging.api", "aiohttp"))
        print(json.dumps({{"results": [[r.status, r.http_status] for r in results], "heavy": heavy}}))
    """)
    assert seen == {"results": [["sent", 200], ["retryable", 500], ["sent", 200]], "heavy": []}
    assert [(m["endpoint"], m["to"]) for m in fake_line.state.received] == [("reply", USER), ("push", USER)]
    assert [(c["status"], c["body"]) for c in fake_line.state.calls if c["endpoint"] in ("loading", "markAsRead")] == [
        (202, {"chatId": USER, "loadingSeconds": 10}), (200, {"markAsReadToken": "read-token"})]


def test_every_name_of_the_sdk_is_there_when_first_asked_for(fake_line):
    fake_line.set_profile(USER, "Lan", "vi")
    seen = run_fresh(f"""
        import json
        from bot.adapters.line import LineMessenger
        from bot.adapters import line_sdk
        profile = LineMessenger({fake_line.url!r}, "token").get_profile({USER!r})     # MessagingApi and a model
        import linebot
        import linebot.v3.messaging.models as models
        from linebot.v3 import WebhookParser
        from linebot.v3.messaging import ApiException, ShowLoadingAnimationRequest
        request = ShowLoadingAnimationRequest(chatId={USER!r}, loadingSeconds=5)
        print(json.dumps({{"profile": [profile.display_name, profile.language],
                           "names": [linebot.LineBotApi.__name__, WebhookParser.__name__, models.Action.__name__],
                           "same_exception": ApiException is line_sdk.ApiException,
                           "model": request.to_dict()}}))
    """)
    assert seen == {"profile": ["Lan", "vi"], "names": ["LineBotApi", "WebhookParser", "Action"],
                    "same_exception": True, "model": {"chatId": USER, "loadingSeconds": 5}}
