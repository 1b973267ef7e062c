"""One module per LINE event kind. Handlers use bot's TurnContext and pure domain modules only."""
from handlers.follow import handle_follow
from handlers.message import handle_message
from handlers.other import handle_other
from handlers.postback import handle_postback
from handlers.unfollow import handle_unfollow

HANDLERS = {
    "follow": handle_follow,
    "unfollow": handle_unfollow,
    "message": handle_message,
    "postback": handle_postback,
}


def handler_for(event_type: str):
    return HANDLERS.get(event_type, handle_other)
