"""follow: a parent added the bot (or unblocked it). Greet in their language, offer the choice."""
from bot.content.languages import match_locale
from bot.dialogue.turn import TurnContext
from bot.dialogue.ui import language_picker


def handle_follow(ctx: TurnContext) -> None:
    user = ctx.user
    if user is None:
        return
    user.blocked = False
    profile = ctx.fetch_profile()
    if profile:
        user.display_name = profile.display_name
        user.profile_language = profile.language
    if not user.locale_chosen:
        user.locale = match_locale(user.profile_language)
    if user.locale:
        ctx.say(ctx.t("core.welcome"))
        ctx.service("conversation").after_language_known(ctx)
        return
    # A language outside the 17 (or none on the profile): English, marked as such, and the picker.
    user.locale = "en"
    ctx.say(ctx.t("core.fallback_marker") + "\n" + ctx.t("core.welcome"))
    ctx.say(language_picker(ctx.catalog.text("en", "core.choose_language_multi"),
                            more_label=ctx.catalog.text("en", "core.more_languages")))
