"""message: text goes to the conversation (triage first); other kinds get a short, kind answer."""
from bot.turn import TurnContext
from bot.ui import language_picker

ANSWERED_KINDS = {"image", "video", "audio", "file", "location", "sticker"}


def handle_message(ctx: TurnContext) -> None:
    if ctx.user is None:
        return                                    # group and room chats are not served
    message = ctx.event.get("message") or {}
    kind = message.get("type")
    if kind == "text":
        _handle_text(ctx, str(message.get("text", "")))
    elif kind in ANSWERED_KINDS:
        conversation = ctx.service("conversation")
        if conversation:
            conversation.on_non_text(ctx, kind)
        else:
            ctx.say(ctx.t("core.non_text"))


def _handle_text(ctx: TurnContext, text: str) -> None:
    conversation = ctx.service("conversation")
    if conversation:
        conversation.on_text(ctx, text)
        return
    if not ctx.user.locale:
        ctx.say(language_picker(ctx.catalog.text("en", "core.choose_language_multi"),
                                more_label=ctx.catalog.text("en", "core.more_languages")))
        return
    ctx.say(ctx.t("core.placeholder"))
