"""postback: a button was tapped. Language buttons are handled here; the rest go to the conversation."""
from bot.content.languages import match_locale
from bot.dialogue.turn import TurnContext
from bot.dialogue.ui import language_picker, parse_postback


def handle_postback(ctx: TurnContext) -> None:
    if ctx.user is None:
        return
    postback = ctx.event.get("postback")
    data = str(postback.get("data", "")) if isinstance(postback, dict) else ""
    kind, value = parse_postback(data)
    conversation = ctx.service("conversation")
    if kind == "lang-page":
        page = int(value) if value.isdigit() else 1
        ctx.say(language_picker(ctx.t("core.choose_language"), page=page, more_label=ctx.t("core.more_languages")))
    elif kind == "lang" and match_locale(value):
        ctx.user.locale = match_locale(value)
        ctx.user.locale_chosen = True
        ctx.say(ctx.t("core.language_set"))
        conversation.after_language_known(ctx)
    else:
        conversation.on_postback(ctx, data)
