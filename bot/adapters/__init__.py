"""Adapters: the real technology behind each port in bot/ports.py."""


def redis_text(value: object) -> str:
    """A Redis answer as text: the clients here do not decode responses, so values come as bytes."""
    return value.decode() if isinstance(value, bytes) else str(value)
