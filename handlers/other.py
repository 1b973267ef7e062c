"""Every other event kind (join, leave, beacon, unsend, unknown types...): acknowledged, no crash.

Only `join` gets an answer: the bot is for private one-to-one chats, and says so once.
"""
from bot.dialogue.turn import TurnContext


def handle_other(ctx: TurnContext) -> None:
    if ctx.event.get("type") == "join":
        ctx.say(ctx.catalog.text("en", "core.groups_not_supported"))
