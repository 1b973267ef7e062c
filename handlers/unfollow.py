"""unfollow: the user blocked the bot. Remember it, send nothing (LINE would refuse anyway)."""
from bot.dialogue.turn import TurnContext


def handle_unfollow(ctx: TurnContext) -> None:
    if ctx.user is not None:
        ctx.user.blocked = True
