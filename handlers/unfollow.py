"""unfollow: the user blocked the bot. Remember it, stop her reminders, send nothing (LINE would refuse
anyway)."""
from bot.dialogue.turn import TurnContext


def handle_unfollow(ctx: TurnContext) -> None:
    if ctx.user is not None:
        ctx.user.blocked = True
        reminders = ctx.service("reminders")
        if reminders is not None:
            reminders.stop(ctx.user.line_user_id, "unfollow")     # a later re-follow does not restart them
