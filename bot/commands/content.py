"""Admin tools: `flows check` and `chat` (try a change offline before it goes live)."""
from __future__ import annotations

import argparse
import json
import sys

from bot.settings import load_settings

OFFLINE_ENV = {"LINE_CHANNEL_SECRET": "offline", "LINE_CHANNEL_ACCESS_TOKEN": "offline"}


def register(sub: argparse._SubParsersAction) -> None:
    flows = sub.add_parser("flows", help="flows, locales and triage rules")
    flows_sub = flows.add_subparsers(dest="flows_command", required=True)
    check = flows_sub.add_parser("check", help="check every flow, locale and triage rule; exit 1 on any error")
    check.set_defaults(func=run_flows_check)

    chat = sub.add_parser("chat", help="send messages as a test user, offline, and print what the bot answers")
    chat.add_argument("--locale", default="en", help="the test user's language (one of the 17 locale ids)")
    chat.add_argument("--json", action="store_true", help="print the LINE message objects")
    chat.add_argument("--no-consent", action="store_true",
                      help="try it as a user who has not agreed to the privacy notice (by default the test user has)")
    chat.add_argument("--explain", action="store_true",
                      help="before each answer, print what decided it: triage signals and rules, classifier "
                           "scores, search and fused candidates (to fix a wrong answer in the YAML)")
    chat.add_argument("--at", metavar="WHEN", type=_moment,
                      help="run the chat at this moment, e.g. '2026-12-06 00:30' (Japan time, or TIME_ZONE; "
                           "an offset such as +00:00 is kept): what a parent sees that night")
    chat.add_argument("messages", nargs="+", metavar="MESSAGE",
                      help="text to send; 'tap:DATA' taps a button with that postback data")
    chat.set_defaults(func=run_chat)


def _moment(text: str):
    from datetime import datetime
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date and time: {text!r} (write it as 2026-12-06 00:30)") from None


def offline_settings():
    import os
    passed_on = {"MUNICIPALITY", "DEFAULT_LOCALE", "TIME_ZONE"}
    env = {**OFFLINE_ENV, **{k: v for k, v in os.environ.items() if k in passed_on}}
    return load_settings(env)


def run_flows_check(args) -> int:
    from bot.content.adminmsg import msg
    from bot.content.checks import check_all
    settings = offline_settings()
    problems = check_all(settings.locales_dir, settings.flows_dir, settings.resources_dir)
    for problem in problems:
        print(problem)
    if problems:
        print("\n" + msg("flows.summary_problems", count=len(problems)), file=sys.stderr)
        return 1
    print(msg("flows.ok"))
    _warn_if_classifier_is_stale(settings)
    return 0


def _warn_if_classifier_is_stale(settings) -> None:
    """A warning, not an error: the bot still runs (rules and search decide; the model only adds)."""
    from bot.commands.classifier import stale_classifier_warning
    try:
        warning = stale_classifier_warning(settings.resources_dir, settings.classifier_path.parent)
    except Exception as exc:                        # the index itself was checked above
        warning = f"training/classifier.bin: cannot check ({exc})"
    if warning:
        print(f"warning: {warning}")


def run_chat(args) -> int:
    from bot import LOCALES
    from bot.pipeline.offline import OfflineBot
    if args.locale not in LOCALES:
        print(f"--locale must be one of: {', '.join(LOCALES)}", file=sys.stderr)
        return 2
    settings = offline_settings()
    if args.at is None:
        bot = OfflineBot(settings)
    else:
        from zoneinfo import ZoneInfo
        moment = args.at if args.at.tzinfo else args.at.replace(tzinfo=ZoneInfo(settings.time_zone))
        bot = OfflineBot(settings, now=lambda: moment)
    user = "Uadmin-chat"
    bot.choose_language(user, args.locale)
    if not args.no_consent:
        bot.tap(user, "privacy:agree")
    transcript = []
    for text in args.messages:
        why = None if not args.explain or text.startswith("tap:") else _explain(bot, text, args.locale)
        sent = bot.tap(user, text[4:]) if text.startswith("tap:") else bot.say(user, text)
        transcript.append({"input": text, "messages": sent, **({"explain": why} if why else {})})
    if args.json:
        print(json.dumps(transcript, ensure_ascii=False, indent=2))
        return 0
    for turn in transcript:
        print(f"> {turn['input']}")
        if turn.get("explain"):
            print(render_explanation(turn["explain"]))
        for message in turn["messages"]:
            print(render_for_terminal(message))
        print()
    return 0


def _explain(bot, text: str, locale: str) -> dict:
    from bot.dialogue.routing import explain
    content = bot.content.current()
    return explain(text, locale, triage_rules=content.triage_rules, index=content.index,
                   municipality=bot.settings.municipality, classifier=bot.extras.get("classifier"))


def render_explanation(why: dict) -> str:
    """The decision, one line per layer, in the order the bot applies them."""
    def pairs(items):
        return ", ".join(f"{label} {score:.2f}" for label, score in items) or "-"
    rules = why.get("rules", {})
    lines = [f"  · signals (flows/triage/<locale>.yaml terms): {', '.join(why.get('signals', [])) or '-'}",
             f"  · rules (flows/triage/rules.yaml): {rules.get('level')}"
             f"{'/' + rules['category'] if rules.get('category') else ''}"
             f"{' by ' + ', '.join(rules['matched']) if rules.get('matched') else ''}"]
    if "classifier_triage" in why:
        lines.append(f"  · classifier, triage: {pairs(why['classifier_triage'])}")
    if "search" in why:
        search = why["search"]
        lines.append(f"  · search (resources/text/*.yaml), {search['decision']}, coverage {search['coverage']:.2f}: "
                     f"{pairs(search['ranked'])}")
    if "classifier_route" in why:
        lines.append(f"  · classifier, entries: {pairs(why['classifier_route'])}")
        lines.append(f"  · fused: {pairs(why['fused'])}")
    route = why["route"]
    lines.append(f"  = {route['kind']}: {', '.join(route['entry_ids']) or '-'}"
                 f"{'  (' + ', '.join(route['matched']) + ')' if route['matched'] else ''}")
    return "\n".join(lines)


def render_for_terminal(message: dict) -> str:
    from bot.dialogue.messages import message_summary
    lines = [message_summary(message) if message.get("type") != "flex" else _flex_text(message)]
    for item in (message.get("quickReply") or {}).get("items", []):
        action = item["action"]
        if action.get("type") == "uri":                  # a call button: the phone opens it, not the bot
            lines.append(f"   [{action.get('label')}] -> {action['uri']}")
        else:
            lines.append(f"   [{action.get('label')}] -> tap:{action.get('data', action.get('text', ''))}")
    return "\n".join(lines)


def _flex_text(message: dict) -> str:
    body = message["contents"].get("body", {}).get("contents", [])
    parts = []
    for node in body:
        if node.get("type") == "text":
            parts.append(node["text"])
        elif node.get("type") == "button":
            parts.append(f"   [{node['action']['label']}] -> tap:{node['action'].get('data', '')}")
    return "\n".join(parts)
