"""message: text goes to the conversation (safety triage first); other kinds get a short, kind answer."""
from bot.dialogue.turn import TurnContext

ANSWERED_KINDS = {"image", "video", "audio", "file", "location", "sticker"}


def handle_message(ctx: TurnContext) -> None:
    if ctx.user is None:
        return                                    # group and room chats are not served
    message = ctx.event.get("message")
    message = message if isinstance(message, dict) else {}
    kind = message.get("type")
    conversation = ctx.service("conversation")
    if kind == "text":
        conversation.on_text(ctx, str(message.get("text", "")))
    elif kind in ANSWERED_KINDS:
        conversation.on_non_text(ctx, kind)
